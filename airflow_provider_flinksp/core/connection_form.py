"""Typed connection form fields, declared once as data (Airflow 3's ``conn-fields``) and turned
into form widgets for Airflow 2.11, so nobody has to write the extra as JSON."""

from __future__ import annotations

from typing import Any


def extra_field(label: str, kind: str, default: Any, description: str) -> dict[str, Any]:
    """One ``conn-fields`` entry: a value kept under its name in the connection's extra.

    :param label: the form's label
    :param kind: the JSON schema type: ``number``, ``integer`` or ``string``
    :param default: the default, shown in the form
    :param description: a line of help under the field
    """
    return {
        "label": label,
        "schema": {"type": [kind, "null"], "default": default},
        "description": description,
    }


#: The extras every backend's connection reads (see ``core.transport.settings``).
WIRE_FIELDS: dict[str, dict[str, Any]] = {
    "timeout": extra_field(
        "Request timeout (s)", "number", 30, "Deadline for one whole request, in seconds."
    ),
    "verify": extra_field(
        "TLS verification", "string", "true", "true, false, or the path of a CA bundle to trust."
    ),
    "retry_limit": extra_field("Attempts", "integer", 3, "Attempts in all for one API call."),
    "retry_delay": extra_field(
        "First backoff (s)", "number", 1.0, "Seconds before the second attempt; doubled each time."
    ),
}


def form_widgets(fields: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The Airflow 2.11 form widgets for ``conn-fields`` (Airflow 3 reads the fields themselves).

    :param fields: the ``conn-fields`` declaration
    """
    from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
    from flask_babel import lazy_gettext
    from wtforms import IntegerField, StringField
    from wtforms.validators import Optional

    widgets: dict[str, Any] = {}
    for name, field in fields.items():
        kind = field["schema"]["type"][0]
        cls = IntegerField if kind == "integer" else StringField
        widgets[name] = cls(
            lazy_gettext(field["label"]),
            widget=BS3TextFieldWidget(),
            validators=[Optional()],
            description=field.get("description"),
        )
    return widgets
