"""Sign up (at most SIGNUP_RATE new accounts per client address), and the page a locked-out login
gets (django-axes counts failed logins; see the settings' AXES_* block). Log in and out come from
django.contrib.auth."""
from datetime import timedelta

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import login
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from restoration_site.errors import ApplicationError
from restoration_site.ratelimit import throttle_signup


@require_http_methods(["GET", "POST"])
def signup(request):
    form = UserCreationForm(request.POST or None)
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if request.method == "POST" and form.is_valid():
        try:
            throttle_signup(request)  # only accounts about to be made count, not mistyped forms
        except ApplicationError as exc:
            form.add_error(None, exc.message)
            return render(request, "registration/signup.html", {"form": form, "next": next_url},
                          status=exc.status_code)
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        # Back where the visitor was (e.g. an item page), but only within this site.
        if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
            return redirect(next_url)
        return redirect("home")
    return render(request, "registration/signup.html", {"form": form, "next": next_url},
                  status=400 if form.errors else 200)


def lockout_message() -> str:
    cool_off = settings.AXES_COOLOFF_TIME
    minutes = max(1, round(cool_off / timedelta(minutes=1)))
    return ngettext("Too many failed logins for this account from your address. Wait %(n)d minute before trying "
                    "again (each new try during the wait starts it again).",
                    "Too many failed logins for this account from your address. Wait %(n)d minutes before trying "
                    "again (each new try during the wait starts it again).", minutes) % {"n": minutes}


def lockout_response(request, original_response=None, credentials=None):
    """What django-axes answers a locked-out login with (AXES_LOCKOUT_CALLABLE): the same login page
    (the site's or the admin's), with a message saying how long to wait, and a 429."""
    context = {"lockout_message": lockout_message(),
               "next": request.POST.get("next") or request.GET.get("next") or ""}
    if request.path.startswith(reverse("admin:login")):
        context.update(admin.site.each_context(request), form=AdminAuthenticationForm(request), title=_("Log in"),
                       app_path=request.get_full_path(), username=request.user.get_username())
        return render(request, "registration/admin_lockout.html", context, status=429)
    return render(request, "registration/login.html", {**context, "form": AuthenticationForm(request)}, status=429)


# No account's name is longer (the user model's limit); a longer one typed at the login is cut
# there, so that what django-axes records of the attempt fits its column (a 500 on PostgreSQL else).
LONGEST_USERNAME = 150


def login_attempt_username(request, credentials=None) -> str | None:
    """The name a login attempt was made for, as django-axes counts it (AXES_USERNAME_CALLABLE)."""
    if credentials:
        name = credentials.get("username")
    else:
        name = getattr(request, "data", request.POST).get("username")
    return name[:LONGEST_USERNAME] if isinstance(name, str) else name
