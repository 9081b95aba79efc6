"""The Django admin as an operator's read-only window onto stored state.

Writes go through the API and its services (schedule validation, due windows, outbox
rows); an admin form saving a model directly would skip them, so these pages only show.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest

from monitorsite.storable import is_storable_text

if TYPE_CHECKING:  # generic in the stubs only; Django's classes take no subscript at run time
    ModelAdminBase = admin.ModelAdmin[Any]
    TabularInlineBase = admin.TabularInline[Any, Any]
else:
    ModelAdminBase = admin.ModelAdmin
    TabularInlineBase = admin.TabularInline


class ReadOnlyAdmin(ModelAdminBase):
    list_per_page = 50

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # A filter value PostgreSQL cannot even compare (a NUL) would be a 500 in the query.
        for name, values in request.GET.lists():
            if not all(is_storable_text(text) for text in (name, *values)):
                return HttpResponseBadRequest("A filter holds a NUL or a lone surrogate character.")
        return super().changelist_view(request, extra_context)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(TabularInlineBase):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
