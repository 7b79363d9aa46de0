"""The OpenID Connect provider the single sign-on tests sign in through: provider.js (the
`oidc-provider` package from the npm registry) and the pytest fixtures that start it (fixtures.py)."""
