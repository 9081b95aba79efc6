"""Accounts: Django's auth views in the site's style, throttled sign-in, and sign-up."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth import views as auth_views
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from monitors.access import SESSION_PROJECT_KEY, signed_in, signed_in_user
from monitors.accounts import account_create
from monitors.forms import SigninForm, SignupForm
from monitors.sign_ins import recent_sign_ins, sign_out_other_sessions

# Sign-up makes users with a password, so sign them in with the model backend explicitly.
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


class SigninView(auth_views.LoginView):
    form_class = SigninForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["registration_open"] = settings.REGISTRATION_OPEN
        # On a fresh install nobody can sign in yet: say how to make the first account.
        context["fresh_install"] = not get_user_model().objects.exists()
        return context


class PasswordResetView(auth_views.PasswordResetView):
    @property
    def extra_email_context(self) -> dict[str, Any]:  # type: ignore[override]
        # Links are built from SITE_URL, never from the request's Host header.
        return {"site_url": settings.SITE_URL}


@require_http_methods(["GET", "HEAD", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    """A new account with a project of its own, while REGISTRATION_OPEN."""
    if not settings.REGISTRATION_OPEN:
        raise Http404("Sign-up is closed on this site.")
    if request.user.is_authenticated:
        return redirect("dashboard")
    form = SignupForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        user, project = account_create(
            email=form.cleaned_data["email"], password=form.cleaned_data["password1"]
        )
        login(request, user, backend=MODEL_BACKEND)
        request.session[SESSION_PROJECT_KEY] = project.id
        return redirect("project-dashboard", project_id=project.id)
    return render(request, "accounts/signup.html", {"form": form})


@signed_in
@require_safe
def profile(request: HttpRequest) -> HttpResponse:
    """The signed-in user's page: their last sign-ins, and a way to end their other sessions."""
    user = signed_in_user(request)
    context = {"sign_ins": recent_sign_ins(user=user), "this_session": request.session.session_key}
    return render(request, "accounts/profile.html", context)


@signed_in
@require_POST
def sign_out_others(request: HttpRequest) -> HttpResponse:
    ended = sign_out_other_sessions(user=signed_in_user(request), keep=request.session.session_key or "")
    messages.success(request, f"Signed out of {ended} other session{'s' if ended != 1 else ''}.")
    return redirect("profile")
