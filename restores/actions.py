"""The item actions Restore Desk offers, one entry per pinned API `action` name.

The catalog says what each action is (restore, save or export), which workload and browse kinds it accepts, which
API versions can do it, whether it needs Microsoft 365 credentials, what it produces for download, and which target
fields it needs. Services, serializers, forms and templates all read it; none of them restates these rules.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ActionKind(StrEnum):
    RESTORE = "restore"      # writes back into Microsoft 365; needs credentials; never retried
    DOWNLOAD = "download"    # save or export: a file the person downloads; no credentials


@dataclass(frozen=True)
class Action:
    name: str                       # the pinned API value, e.g. "exchange.export_pst"
    workload: str                   # sessions_app.models.Workload value: exchange, onedrive, sharepoint, teams
    kind: ActionKind
    label: str                      # what the explorer's menu and the job page call it
    node_kinds: frozenset[str]      # public browse kinds it accepts (BrowseEntry.kind / the browse API's `kind`)
    min_version: int = 4            # v1–v3 have no item actions at all
    target_fields: tuple[str, ...] = ()   # required target keys, e.g. ("mailbox", "folder")
    option_fields: tuple[str, ...] = ()   # accepted option keys
    file_format: str = ""           # downloads: "msg", "pst", "zip", "file", "html" ("zip" when split or several)
    single_node: bool = False       # accepts exactly one node


EXCHANGE_NODES = frozenset({"mailbox", "folder", "item"})
DOCUMENT_NODES = frozenset({"drive", "folder", "document"})
SITE_NODES = frozenset({"folder", "document", "library"})
TEAMS_NODES = frozenset({"team", "channel", "folder", "post", "file"})

ACTIONS: dict[str, Action] = {action.name: action for action in (
    Action("exchange.restore_original", "exchange", ActionKind.RESTORE, "Restore to the original mailbox",
           EXCHANGE_NODES,
           option_fields=("changed_items", "deleted_items", "mark_restored_as_unread")),
    Action("exchange.restore_to_mailbox", "exchange", ActionKind.RESTORE, "Restore to another mailbox",
           EXCHANGE_NODES, target_fields=("mailbox", "folder"),
           option_fields=("changed_items", "deleted_items", "mark_restored_as_unread")),
    Action("exchange.save_msg", "exchange", ActionKind.DOWNLOAD, "Save as MSG", frozenset({"item"}),
           file_format="msg", single_node=True),
    Action("exchange.export_pst", "exchange", ActionKind.DOWNLOAD, "Export to PST", EXCHANGE_NODES,
           option_fields=("pst_size_limit_bytes",), file_format="pst"),
    Action("onedrive.restore_original", "onedrive", ActionKind.RESTORE, "Restore to the original location",
           DOCUMENT_NODES, option_fields=("document_action",)),
    Action("onedrive.copy_to", "onedrive", ActionKind.RESTORE, "Copy to another OneDrive", DOCUMENT_NODES,
           target_fields=("onedrive", "folder"), option_fields=("document_version",)),
    Action("onedrive.save", "onedrive", ActionKind.DOWNLOAD, "Save (ZIP, or the file itself)", DOCUMENT_NODES,
           file_format="zip"),
    Action("sharepoint.restore_original", "sharepoint", ActionKind.RESTORE, "Restore to the original location",
           SITE_NODES, option_fields=("document_version", "restore_permissions")),
    Action("sharepoint.save", "sharepoint", ActionKind.DOWNLOAD, "Save as ZIP", SITE_NODES, file_format="zip"),
    Action("teams.restore_original", "teams", ActionKind.RESTORE, "Restore to the original team", TEAMS_NODES,
           option_fields=("restore_changed_items", "restore_missing_items")),
    Action("teams.export_posts", "teams", ActionKind.DOWNLOAD, "Export posts as HTML",
           frozenset({"channel", "post", "folder"}), file_format="html"),
)}
