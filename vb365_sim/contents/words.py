"""Deterministic randomness and the vocabulary tenants' contents are made of."""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def rnd(salt: bytes, *indexes: int) -> bytes:
    """32 bytes that depend only on ``salt`` and ``indexes`` (one object's private randomness)."""
    return hashlib.blake2b(struct.pack(f"<{len(indexes)}q", *indexes), digest_size=32, key=salt[:64]).digest()


def pick(options: Sequence[T], byte: int) -> T:
    return options[byte % len(options)]


def unit(b: bytes, at: int) -> float:
    """A number in [0, 1) from two bytes of ``b``."""
    return int.from_bytes(b[at : at + 2], "little") / 65536


def long_tail(median: int, u: float, *, spread: float = 3.0) -> int:
    """A count around ``median``: from median / 2**spread to median * 2**spread, most near the median."""
    skew = (2 * u - 1) ** 3  # most values near 0, a few near the ends
    return max(0, int(median * 2 ** (skew * spread)))


FIRST = ("Adele", "Alex", "Allan", "Bianca", "Christie", "Debra", "Diego", "Emily", "Enrico", "Grady", "Henrietta",
         "Irvin", "Isaiah", "Johanna", "Joni", "Lee", "Lidia", "Lynne", "Megan", "Miriam", "Nestor", "Patti", "Pradeep",
         "Raul", "Sanjay", "Sofia", "Tomas", "Wendy", "Yuki", "Zoe")
LAST = ("Vance", "Wilber", "Deyoung", "Pia", "Cline", "Berger", "Siciliani", "Braun", "Groth", "Archie", "Mueller",
        "Sayers", "Kasper", "Lauer", "Sherman", "Gu", "Holloway", "Robbins", "Bowen", "Graham", "Wilke", "Fernandez",
        "Gupta", "Ortega", "Rao", "Costa", "Novak", "Hart", "Tanaka", "Lindqvist")
SHARED = ("Sales", "Support", "Accounts Payable", "HR Team", "Reception", "Marketing", "IT Helpdesk", "Legal",
          "Procurement", "Events", "Press", "Facilities")
TOPICS = ("Q3 forecast", "Board meeting minutes", "Invoice", "Contract draft", "Project Falcon", "Travel request",
          "Budget review", "Onboarding", "Customer escalation", "Release planning", "Security awareness",
          "Office move", "Quarterly review", "Vendor evaluation", "Hiring plan", "Product launch", "Audit findings",
          "Team offsite", "Pricing update", "Roadmap", "Weekly status", "Expense report", "Training schedule",
          "Renewal notice", "Partner summit", "Incident report", "Design review", "Benefits enrolment")
PREFIXES = ("", "", "", "RE: ", "RE: ", "FW: ", "Re: ")
MEETINGS = ("Weekly sync", "1:1", "Sprint planning", "Quarterly review", "Customer call", "Design review",
            "All hands", "Lunch and learn", "Interview", "Board prep")
ROOMS = ("Room 1.01", "Room 2.14 (Oslo)", "Microsoft Teams Meeting", "Cafeteria", "Board room", "Building B, 3rd floor")
RECURRENCE = ("Occurs every Monday", "Occurs every weekday", "Occurs every 2 weeks on Thursday",
              "Occurs day 1 of every month")
COMPANIES = ("Contoso", "Fabrikam", "Northwind Traders", "Adventure Works", "Tailspin Toys", "Wingtip Toys",
             "Litware", "Proseware", "Woodgrove Bank", "Alpine Ski House")
JOBS = ("Account Manager", "Engineer", "CFO", "Consultant", "Designer", "Buyer", "Office Manager", "Lawyer")
TASKS = ("Prepare slides", "Call back supplier", "Review pull request", "Submit expenses", "Book travel",
         "Update forecast", "Send contract", "Renew certificate")
PROJECTS = ("Falcon", "Atlas", "Mercury", "Orion", "Phoenix", "Nova", "Zephyr", "Titan", "Aurora", "Cobalt")
CUSTOM_FOLDERS = ("Projects", "Clients", "Receipts", "Newsletters", "Travel", "Team", "Archive 2022", "Reports",
                  "Vendors", "Personal", "Invoices", "Hiring")
DOC_WORDS = ("Budget", "Roadmap", "Notes", "Proposal", "Minutes", "Report", "Plan", "Forecast", "Checklist",
             "Design", "Contract", "Invoice", "Summary", "Presentation", "Timesheet", "Brief", "Inventory", "Policy")
EXTENSIONS = (".docx", ".docx", ".xlsx", ".xlsx", ".pptx", ".pdf", ".pdf", ".txt", ".png", ".jpg", ".zip", ".mp4",
              ".csv", ".vsdx", ".one")
BIG_EXTENSIONS = (".mp4", ".zip", ".iso", ".pst", ".bak")
DRIVE_FOLDERS = ("Documents", "Projects", "Archive", "Shared", "Reports", "Photos", "Finance", "Drafts", "Templates",
                 "Meetings", "Customers", "2021", "2022", "2023", "2024", "Old", "Research")
SITE_NAMES = ("Intranet", "HR", "Finance", "Sales", "Marketing", "Engineering", "Legal", "Projects", "IT", "Operations",
              "Communications", "Procurement", "Quality", "Research", "Facilities", "Support")
LIBRARIES = ("Documents", "Site Assets", "Site Pages", "Policies", "Templates", "Contracts", "Reports")
LISTS = ("Announcements", "Tasks", "Issue tracker", "Contacts", "Calendar", "Links", "Assets", "Requests")
ITEM_TITLES = ("Printer on 3rd floor broken", "New starter", "Laptop refresh", "Holiday schedule", "VPN access",
               "Desk booking", "Parking permit", "Budget approval", "Supplier onboarding", "Access request")
TEAM_NAMES = ("Marketing", "Sales", "Engineering", "Leadership", "Project Falcon", "Project Atlas", "HR",
              "Finance", "Customer Success", "Design", "IT Operations", "Mark 8 Project", "Retail", "Legal",
              "Digital Initiative", "U.S. Sales", "Support", "Research", "Events", "Partners")
CHANNELS = ("Announcements", "Planning", "Design", "Research", "Go to market", "Social", "Help", "Releases",
            "Budget", "Random", "Monthly reports", "Launch", "Hiring", "Customers", "Incidents")
POSTS = ("Welcome to the team!", "Launch date confirmed", "Please review the deck", "Notes from today",
         "Who can cover Friday?", "New process for approvals", "Status update", "Great job everyone",
         "Reminder: timesheets", "Question about the budget", "Customer feedback", "Release notes")
REPLIES = ("Thanks!", "Agreed.", "I'll take a look.", "Done.", "Can we discuss tomorrow?", "+1", "Sounds good",
           "Let me check with the team.")
TABS = (("Wiki", "com.microsoft.teamspace.tab.wiki"), ("Planner", "com.microsoft.teamspace.tab.planner"),
        ("OneNote", "0d820ecd-def2-4297-adad-78056cde7c78"), ("Website", "com.microsoft.teamspace.tab.web"),
        ("Power BI", "com.microsoft.teamspace.tab.powerbi"), ("Files", "com.microsoft.teamspace.tab.files.sharepoint"))


def person(b: bytes, at: int = 0) -> tuple[str, str]:
    """(display name, mail nickname) of someone in the directory."""
    first, last = pick(FIRST, b[at]), pick(LAST, b[at + 1])
    return f"{first} {last}", f"{first.lower()}.{last.lower()}"
