"""Build a campaign definition in Python.

The builder writes the same document as the JSON file format and checks it with the
same reader, so a campaign built in code and one loaded from a file are identical.
"""

from __future__ import annotations

from typing import Any

from ajo_workbench.model.definition import FORMAT, CampaignDefinition, parse_definition


class CampaignBuilder:
    """Assemble a campaign step by step.

    Examples
    --------
    >>> from ajo_workbench.model.builder import CampaignBuilder
    >>> definition = (
    ...     CampaignBuilder("spring-sale", name="Spring sale")
    ...     .activity("build_audience", "gold", where="loyalty_tier = 'gold'")
    ...     .activity("end", "end")
    ...     .connect("gold", "end")
    ...     .build()
    ... )
    >>> [t.id for t in definition.transitions]
    ['t1']
    """

    def __init__(
        self,
        campaign_id: str,
        *,
        name: str | None = None,
        description: str = "",
        dimension: str = "profiles",
    ) -> None:
        self._document: dict[str, Any] = {
            "format": FORMAT,
            "id": campaign_id,
            "name": name if name is not None else campaign_id,
            "description": description,
            "dimension": dimension,
            "schedule": {"type": "asap"},
            "settings": {},
            "variables": {},
            "activities": [],
            "transitions": [],
        }

    def schedule(self, schedule_type: str, **fields: Any) -> CampaignBuilder:
        """Set the schedule (``asap``, ``once``, ``recurring`` or ``signal``)."""
        self._document["schedule"] = {"type": schedule_type, **fields}
        return self

    def settings(self, **settings: Any) -> CampaignBuilder:
        """Set execution settings such as ``error_policy``."""
        self._document["settings"].update(settings)
        return self

    def variables(self, **variables: Any) -> CampaignBuilder:
        """Add campaign variables usable in test conditions and templates."""
        self._document["variables"].update(variables)
        return self

    def activity(
        self,
        activity_type: str,
        activity_id: str,
        *,
        label: str = "",
        disabled: bool = False,
        **settings: Any,
    ) -> CampaignBuilder:
        """Add an activity of the catalogue with its settings."""
        activity: dict[str, Any] = {"id": activity_id, "type": activity_type}
        if label:
            activity["label"] = label
        activity.update(settings)
        if disabled:
            activity["disabled"] = True
        self._document["activities"].append(activity)
        return self

    def connect(
        self,
        source: str,
        target: str,
        *,
        port: str = "out",
        transition_id: str | None = None,
    ) -> CampaignBuilder:
        """Add a transition; its id defaults to ``t<n>``."""
        transitions = self._document["transitions"]
        taken = {t["id"] for t in transitions}
        number = len(transitions) + 1
        while transition_id is None and f"t{number}" in taken:
            number += 1
        transition: dict[str, Any] = {"id": transition_id or f"t{number}"}
        transition["from"] = source
        if port != "out":
            transition["port"] = port
        transition["to"] = target
        transitions.append(transition)
        return self

    def to_dict(self) -> dict[str, Any]:
        """The document as built so far (unchecked)."""
        return self._document

    def build(self) -> CampaignDefinition:
        """Check the document and return the definition (DefinitionError if not)."""
        return parse_definition(
            self._document, source=f"campaign {self._document['id']!r}"
        )
