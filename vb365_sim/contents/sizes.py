"""How big the simulated tenants are: ``--content small|medium|large``.

# Reference: BROWSE-RESTORE.md §6.2 -- real tenants hold ~300-2,000 mailboxes of ~20-40 folders, item counts
# long-tailed (median ~5k, a few at 100k-200k), OneDrives up to 50k files at depth <= 8, 50-200 sites, 20-100
# teams of 3-30 channels. ``large`` follows those figures; ``small`` keeps the same shapes at a size tests
# and demos read quickly (still a folder of more than 1,000 items to page through).

Every organization gets the same profile; its first user mailbox's Inbox is the biggest folder
(``big_folder_items``) and its first OneDrive the biggest drive (``onedrive_files_max``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ContentSize:
    name: str
    user_mailboxes: int
    shared_mailboxes: int
    archive_every: int          # every n-th user also has an archive mailbox
    big_folder_items: int       # Inbox of the first user mailbox
    folder_items_median: int    # typical Inbox; other folders scale from it
    custom_folders_max: int     # user-made folders per mailbox (nested up to 3 deep)
    onedrive_files_max: int     # the first OneDrive; the others are smaller
    onedrive_files_median: int
    top_sites: int
    subsites_max: int
    library_files_median: int
    list_items_median: int
    teams: int
    channels_max: int
    posts_median: int           # per channel
    team_files_median: int      # per channel


SIZES = {
    "small": ContentSize("small", user_mailboxes=10, shared_mailboxes=2, archive_every=4, big_folder_items=1_500,
                         folder_items_median=60, custom_folders_max=5, onedrive_files_max=400,
                         onedrive_files_median=40, top_sites=4, subsites_max=2, library_files_median=40,
                         list_items_median=30, teams=4, channels_max=6, posts_median=60, team_files_median=15),
    "medium": ContentSize("medium", user_mailboxes=300, shared_mailboxes=20, archive_every=4,
                          big_folder_items=20_000, folder_items_median=1_000, custom_folders_max=12,
                          onedrive_files_max=5_000, onedrive_files_median=600, top_sites=40, subsites_max=3,
                          library_files_median=400, list_items_median=150, teams=20, channels_max=15,
                          posts_median=400, team_files_median=60),
    "large": ContentSize("large", user_mailboxes=1_500, shared_mailboxes=100, archive_every=4,
                         big_folder_items=200_000, folder_items_median=5_000, custom_folders_max=25,
                         onedrive_files_max=50_000, onedrive_files_median=2_000, top_sites=150, subsites_max=4,
                         library_files_median=1_500, list_items_median=500, teams=100, channels_max=30,
                         posts_median=1_500, team_files_median=200),
}


def content_size(name: str) -> ContentSize:
    try:
        return SIZES[name]
    except KeyError:
        raise ValueError(f"unknown content size {name!r}: choose {', '.join(SIZES)}") from None
