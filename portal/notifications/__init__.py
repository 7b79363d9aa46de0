"""Notifications: the in-app list, what also comes by e-mail, the weekly digest and one-click
unsubscribe.

The portal owns them but knows no feature: feature apps call `services.notify(...)` with the
text already written under the naming rules of portal.naming, say which object a notice is
about, and register (in their AppConfig.ready) who may see such objects and what their part of
the weekly digest holds. A notice about an object its reader may no longer see is left out of
every list, count and e-mail.
"""
