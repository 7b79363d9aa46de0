"""Single sign-on through the district's identity provider (django-allauth).

- `config`: the providers, read from the `SSO_*` environment variables when settings load.
- `adapters`: who may sign in (only rostered, active people, matched by a verified e-mail
  address or OneRoster `sourcedId`; nobody is ever created) and the refusal pages.
- `views`: the sign-in page (provider buttons, the password form unless PASSWORD_SIGN_IN is
  off), the admin's sign-in, and OpenID Connect sign-in that checks every ID token's signature.
- `urls`: the providers' sign-in and return addresses under /accounts/.
"""
