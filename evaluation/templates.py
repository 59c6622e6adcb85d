"""The templates the evaluation set is written from (``generate.py``): themes, codes, phrases."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Theme:
    key: str
    category: str
    group: str
    priority: str
    subjects: tuple[str, ...]
    symptom: tuple[str, ...]  # the sentence that says what is wrong ({host}, {code}, {ip} slots)
    fact: str  # a phrase of the symptom sentence that a summary must keep


THEMES = (
    Theme(
        "vpn",
        "Network",
        "Network Operations",
        "High",
        ("VPN disconnects", "Cannot connect to VPN", "VPN keeps dropping"),
        (
            "Since this morning the AnyConnect client cannot connect to the VPN gateway {host} "
            "and shows {code}.",
            "The VPN tunnel to {host} drops every few minutes with {code}.",
        ),
        "VPN",
    ),
    Theme(
        "printer",
        "Hardware",
        "Desktop Support",
        "Low",
        ("Printer not printing", "Printer jammed", "Print jobs stuck"),
        (
            "The printer {host} on the second floor accepts jobs but prints nothing; the panel shows {code}.",
            "Print jobs to {host} stay in the queue forever with {code}.",
        ),
        "print",
    ),
    Theme(
        "email",
        "Email",
        "Messaging",
        "Medium",
        ("Outlook not receiving mail", "Emails bouncing", "Mail delivery failure"),
        (
            "Outgoing mail to external domains bounces with {code} from relay {host}.",
            "Outlook stopped receiving new mail since 9:00 and the relay {host} logs {code}.",
        ),
        "mail",
    ),
    Theme(
        "password",
        "Access",
        "Identity Team",
        "Medium",
        ("Password reset needed", "Account locked out", "Cannot log in after password change"),
        (
            "My account is locked after the password change and the sign-in page on {host} shows {code}.",
            "Login to {host} fails with {code} even after resetting the password.",
        ),
        "password",
    ),
    Theme(
        "database",
        "Database",
        "DBA Team",
        "Critical",
        (
            "Database errors in billing app",
            "Billing app cannot reach database",
            "Database connection failures",
        ),
        (
            "The billing application fails to query database server {host} ({ip}) with {code}.",
            "Every invoice run aborts because the database on {host} returns {code}.",
        ),
        "database",
    ),
    Theme(
        "disk",
        "Infrastructure",
        "Server Team",
        "High",
        ("Disk full on server", "Low disk space alert", "Server out of disk space"),
        (
            "Monitoring reports the data volume of {host} ({ip}) is 99% full and the backup job "
            "fails with {code}.",
            "The log partition on {host} filled up overnight and services stop with {code}.",
        ),
        "disk",
    ),
    Theme(
        "wifi",
        "Network",
        "Network Operations",
        "Medium",
        ("Wi-Fi unstable in meeting rooms", "No wireless connection", "Wireless keeps disconnecting"),
        (
            "Laptops in the meeting rooms lose the wireless network every few minutes; "
            "controller {host} logs {code}.",
            "The guest Wi-Fi served by {host} ({ip}) rejects clients with {code}.",
        ),
        "wireless",
    ),
    Theme(
        "software",
        "Software",
        "Desktop Support",
        "Low",
        ("Install request for software", "Application install fails", "Software deployment error"),
        (
            "The installer for the design suite fails with {code} when run from the share on {host}.",
            "Software Center cannot install the update from {host} and reports {code}.",
        ),
        "install",
    ),
    Theme(
        "web",
        "Application",
        "Web Team",
        "High",
        ("Intranet site down", "Website returns errors", "Portal unavailable"),
        (
            "The intranet portal {host} returns {code} for every page since the last deployment.",
            "Customers see {code} when they open the portal at {host} ({ip}).",
        ),
        "portal",
    ),
    Theme(
        "phishing",
        "Security",
        "Security Operations",
        "High",
        ("Suspicious email received", "Possible phishing", "Phishing attempt reported"),
        (
            "I received an email asking me to confirm my credentials on {host}; the link shows {code} now.",
            "Several colleagues got a fake invoice mail linking to {host}, blocked by the proxy with {code}.",
        ),
        "email",
    ),
)
CODES = {
    "vpn": ("error 809", "error 0x80072EE7", "AADSTS50076"),
    "printer": ("error 0x0000011b", "event id 372", "error 49.4C02"),
    "email": ("SMTP 550", "error 0x800CCC0E", "SMTP 554"),
    "password": ("AADSTS50053", "error 0xC000006A", "AADSTS50126"),
    "database": ("ORA-12541", "ORA-00942", "SQLSTATE 08001"),
    "disk": ("error 0x80070070", "exit code 28", "ERR_DISK_FULL"),
    "wifi": ("event id 8003", "error 0x80004005", "EAP_FAILURE"),
    "software": ("error 1603", "error 0x87D00324", "exit code 1618"),
    "web": ("HTTP 503", "HTTP 502", "ERR_CONNECTION_RESET"),
    "phishing": ("ERR_BLOCKED_BY_CLIENT", "HTTP 403", "ERR_CERT_AUTHORITY_INVALID"),
}
FOREIGN = {  # a few themes as other languages' users write them
    "de": {
        "vpn": (
            "VPN trennt ständig",
            "Seit heute Morgen trennt der AnyConnect Client die VPN Verbindung zu {host} mit {code}.",
        ),
        "printer": (
            "Drucker druckt nicht",
            "Der Drucker {host} im zweiten Stock nimmt Aufträge an, druckt aber nichts; {code}.",
        ),
        "password": (
            "Konto gesperrt",
            "Mein Konto ist nach der Passwortänderung gesperrt, die Anmeldung an {host} zeigt {code}.",
        ),
    },
    "fr": {
        "vpn": (
            "VPN se déconnecte",
            "Depuis ce matin le client AnyConnect ne se connecte plus au VPN {host} et affiche {code}.",
        ),
        "email": (
            "Courriels rejetés",
            "Les courriels vers l'extérieur sont rejetés avec {code} par le relais {host}.",
        ),
    },
    "es": {
        "printer": (
            "La impresora no imprime",
            "La impresora {host} de la segunda planta acepta trabajos pero no imprime nada; {code}.",
        ),
        "web": (
            "Portal caído",
            "El portal {host} devuelve {code} en todas las páginas desde el último despliegue.",
        ),
    },
}
FILLER = (
    "I already restarted my laptop twice.",
    "It worked fine yesterday afternoon.",
    "Please let me know if you need more information.",
    "This is blocking my work today.",
    "I am working from the Lisbon office this week.",
    "A colleague said it might be related to the update on Friday.",
)
GREETINGS = ("Hi team,", "Hello,", "Good morning,", "")
SIGNOFFS = ("Thanks, {name}", "Kind regards, {name}", "Best, {name}", "")
NAMES = ("Dana Fields", "Sam Okafor", "Mia Chen", "Luis Ortega", "Anna Berg", "Tom Novak", "Priya Nair")
PHONES = (
    "+44 20 7946 {n4}",
    "+1 415 555 {n4}",
    "(415) 555-{n4}",
    "+49 30 9018{n2}",
    "030 9018{n2}",
    "+33 1 42 68 {n2} {m2}",
    "06 12 34 {n2} {m2}",
    "+34 912 345 {n3}",
    "0049 89 1234 {n3}",
)


PII_SENTENCES = (
    "You can reach me at {pii}.",
    "My details for the callback: {pii}.",
    "For the expense claim, use {pii}.",
)
