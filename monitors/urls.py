"""The web UI's pages: accounts, projects, the dashboard and monitor pages."""

from django.urls import URLPattern, URLResolver, include, path

from monitors.views import (
    accounts,
    activity,
    audit,
    channels,
    dashboard,
    healthchecks_import,
    incidents,
    members,
    monitor_actions,
    monitor_form,
    monitors,
    project_settings,
    projects,
    runs,
)

account_patterns: list[URLPattern | URLResolver] = [
    path("login/", accounts.SigninView.as_view(), name="login"),
    path("signup/", accounts.signup, name="signup"),
    path("password_reset/", accounts.PasswordResetView.as_view(), name="password_reset"),
    path("profile/", accounts.profile, name="profile"),
    path("profile/sign-out-others/", accounts.sign_out_others, name="profile-sign-out-others"),
    # logout (POST), password_change(_done), password_reset_done/confirm/complete.
    path("", include("django.contrib.auth.urls")),
]

urlpatterns: list[URLPattern | URLResolver] = [
    path("", dashboard.dashboard, name="dashboard"),
    path("accounts/", include(account_patterns)),
    path("projects/", projects.project_list, name="project-list"),
    path("projects/<int:project_id>/", dashboard.project_dashboard, name="project-dashboard"),
    path("projects/<int:project_id>/settings/", project_settings.project_settings, name="project-settings"),
    path(
        "projects/<int:project_id>/settings/ping-key/",
        project_settings.ping_key_change,
        name="project-settings-ping-key",
    ),
    path(
        "projects/<int:project_id>/settings/import/",
        healthchecks_import.healthchecks_import_view,
        name="project-settings-import",
    ),
    path(
        "projects/<int:project_id>/settings/keys/", project_settings.api_key_create_view, name="apikey-create"
    ),
    path(
        "projects/<int:project_id>/settings/keys/<int:key_id>/revoke/",
        project_settings.api_key_revoke_view,
        name="apikey-revoke",
    ),
    path(
        "projects/<int:project_id>/settings/maintenance/",
        project_settings.maintenance_create_view,
        name="maintenance-create",
    ),
    path(
        "projects/<int:project_id>/settings/maintenance/<int:window_id>/delete/",
        project_settings.maintenance_delete_view,
        name="maintenance-delete",
    ),
    path("projects/<int:project_id>/incidents/", incidents.project_incidents, name="project-incidents"),
    path(
        "projects/<int:project_id>/incidents/<int:incident_id>/acknowledge/",
        incidents.incident_acknowledge_view,
        name="incident-acknowledge",
    ),
    path("projects/<int:project_id>/monitors/new/", monitor_form.monitor_create_view, name="monitor-create"),
    path(
        "projects/<int:project_id>/monitors/schedule-preview/",
        monitor_form.schedule_preview_view,
        name="monitor-schedule-preview",
    ),
    path("projects/<int:project_id>/channels/", channels.channel_list, name="project-channels"),
    path("projects/<int:project_id>/channels/add/<str:kind>/", channels.channel_add, name="channel-add"),
    path("projects/<int:project_id>/channels/<int:channel_id>/", channels.channel_edit, name="channel-edit"),
    path(
        "projects/<int:project_id>/channels/<int:channel_id>/delete/",
        channels.channel_delete_view,
        name="channel-delete",
    ),
    path(
        "projects/<int:project_id>/channels/<int:channel_id>/test/",
        channels.channel_test_view,
        name="channel-test",
    ),
    path(
        "projects/<int:project_id>/channels/<int:channel_id>/rotate-secret/",
        channels.channel_rotate_secret_view,
        name="channel-rotate-secret",
    ),
    path("projects/<int:project_id>/activity/", activity.project_activity, name="project-activity"),
    path("projects/<int:project_id>/audit/", audit.project_audit, name="project-audit"),
    path("projects/<int:project_id>/members/", members.project_members, name="project-members"),
    path("projects/<int:project_id>/members/leave/", members.member_leave_view, name="project-members-leave"),
    path(
        "projects/<int:project_id>/members/transfer/",
        members.ownership_transfer_view,
        name="project-members-transfer",
    ),
    path(
        "projects/<int:project_id>/members/<int:user_id>/role/",
        members.member_role_view,
        name="project-members-role",
    ),
    path(
        "projects/<int:project_id>/members/<int:user_id>/remove/",
        members.member_remove_view,
        name="project-members-remove",
    ),
    path(
        "projects/<int:project_id>/invitations/<int:invitation_id>/revoke/",
        members.invitation_revoke_view,
        name="project-invitation-revoke",
    ),
    path("invitations/<str:token>/", members.invitation_view, name="invitation"),
    path("monitors/<int:monitor_id>/", monitors.monitor_detail, name="monitor-detail"),
    path("monitors/<int:monitor_id>/edit/", monitor_form.monitor_edit_view, name="monitor-edit"),
    path("monitors/<int:monitor_id>/pause/", monitor_actions.monitor_pause_view, name="monitor-pause"),
    path("monitors/<int:monitor_id>/resume/", monitor_actions.monitor_resume_view, name="monitor-resume"),
    path("monitors/<int:monitor_id>/delete/", monitor_actions.monitor_delete_view, name="monitor-delete"),
    path(
        "monitors/<int:monitor_id>/incidents/<int:incident_id>/acknowledge/",
        monitor_actions.incident_acknowledge_view,
        name="monitor-incident-acknowledge",
    ),
    path("monitors/<int:monitor_id>/runs/<int:run_id>/", runs.run_detail, name="run-detail"),
]
