from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from portal.http import AuthenticatedHttpRequest
from portal.lib.pagination import CappedPaginator
from portal.notifications import services
from portal.notifications.forms import EmailTopicsForm
from portal.notifications.models import Notification, unread_count

PAGE_SIZE = 30


@require_http_methods(["GET", "HEAD"])
def notification_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    notices = Notification.objects.visible_to(request.user).order_by("-created_at", "-pk")
    page = CappedPaginator(notices, PAGE_SIZE).get_page(request.GET.get("page"))
    unread = unread_count(request.user)
    return render(request, "portal/notifications.html", {"page": page, "notices": page.object_list, "unread": unread})


@require_POST
def notification_open(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Mark one notice read and go to what it is about."""
    notice = get_object_or_404(Notification.objects.visible_to(request.user), pk=pk)
    services.notifications_read(user=request.user, notifications=[notice.pk])
    if url_has_allowed_host_and_scheme(notice.url, allowed_hosts=None) and notice.url.startswith("/"):
        return redirect(notice.url)
    return redirect("notifications:list")


@require_POST
def notifications_read_all(request: AuthenticatedHttpRequest) -> HttpResponse:
    services.notifications_read(user=request.user)
    messages.success(request, "All your notifications are marked read.")
    return redirect("notifications:list")


@require_http_methods(["GET", "POST"])
def notification_settings(request: AuthenticatedHttpRequest) -> HttpResponse:
    current = services.settings_of(request.user)
    form = EmailTopicsForm(request.POST or None, current=current)
    if request.method == "POST" and form.is_valid():
        services.email_topics_set(user=request.user, topics=form.cleaned_data["topics"])
        messages.success(request, "Saved. E-mails follow your new choices.")
        return redirect("notifications:settings")
    return render(
        request,
        "portal/notifications_settings.html",
        {"form": form, "has_email": bool(request.user.email)},
        status=400 if request.method == "POST" else 200,
    )


@login_not_required
@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """One-click unsubscribe (RFC 8058), signed in or not: the signed link says who and from
    what. A mail program POSTs "List-Unsubscribe=One-Click" here without cookies, so there is
    no CSRF token to check (the link is the proof); a GET, as a link opened in a browser or a
    mail scanner fetching it, only shows the button and changes nothing."""
    found = services.read_unsubscribe_token(token)
    if found is None:
        return render(request, "portal/notifications_unsubscribe.html", {"invalid": True}, status=400)
    user, topic = found
    done = False
    if request.method == "POST":
        services.email_topic_turn_off(user=user, topic=topic)
        done = True
    return render(
        request,
        "portal/notifications_unsubscribe.html",
        {"topic_label": services.topic_label(topic), "done": done},
    )
