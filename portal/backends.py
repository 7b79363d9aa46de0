from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest


class UsernameOrEmailBackend(ModelBackend):
    """Sign in with either the username or the e-mail address (any case)."""

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs
    ):  # type: ignore[no-untyped-def, override]
        if username is None or password is None:
            return None
        user_model = get_user_model()
        identifier = username.strip()
        lookup = {"email__iexact": identifier} if "@" in identifier else {"username": identifier}
        try:
            user = user_model._default_manager.get(**lookup)
        except user_model.DoesNotExist:
            # Run the hasher anyway so timing does not reveal which accounts exist.
            user_model().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
