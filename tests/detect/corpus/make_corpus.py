#!/usr/bin/env python3
"""Assembles the labelled personal-data corpus (pii_corpus.jsonl) from hand-written sentence
frames and hand-picked values. Run once; the committed JSONL is the corpus, this script is how
it was made (python3 make_corpus.py > pii_corpus.jsonl).

Values follow the public formats, not the detector: phone numbers in the national and
international formats of each country's numbering plan (fictional ranges where a regulator
reserves them: US 555-01xx, UK 020 7946 0xxx, AU 02 5550 xxxx / 0491 570 xxx), payment cards
from the issuers' published test numbers or completed with the Luhn digit (ISO/IEC 7812),
IBANs with check digits computed by ISO 13616 mod-97, SSNs within the SSA's assignment rules,
documentation IP ranges (RFC 5737, RFC 3849) plus ordinary public ones, and tokens built to
each issuer's published format (GitHub and npm tokens with their CRC32 base62 checksum).

Each line: {"id": n, "text": "...", "labels": [{"kind": "...", "value": "..."}]}, where value
is the exact substring of text that is the personal data. Clean texts have no labels.
"""
import json
import random
import string
import zlib

R = random.Random(18)
NBSP = "\u00a0"
NNBSP = "\u202f"


def pick(xs):
    return R.choice(xs)


# ---------------------------------------------------------------- values

def luhn_complete(prefix, length):
    body = prefix + "".join(R.choice(string.digits) for _ in range(length - 1 - len(prefix)))
    for d in string.digits:
        n = body + d
        total = 0
        for i, c in enumerate(reversed(n)):
            x = int(c)
            if i % 2 == 1:
                x *= 2
                if x > 9:
                    x -= 9
            total += x
        if total % 10 == 0:
            return n
    raise AssertionError


PUBLISHED_TEST_CARDS = [  # issuers' and processors' published test numbers
    "4111111111111111", "4012888888881881", "4242424242424242", "4000056655665556",
    "5555555555554444", "5105105105105100", "2223003122003222", "5200828282828210",
    "378282246310005", "371449635398431", "6011111111111117", "6011000990139424",
    "3056930009020004", "36227206271667", "3566002020360505", "3530111333300000",
    "6200000000000005", "6759649826438453",
]
CARD_PREFIXES = [("4", 16), ("4", 16), ("51", 16), ("53", 16), ("2221", 16), ("2720", 16), ("34", 15),
                 ("37", 15), ("6011", 16), ("65", 16), ("3528", 16), ("36", 14), ("38", 14), ("300", 14),
                 ("5018", 16), ("6304", 16), ("6759", 16), ("6763", 19), ("62", 16), ("2200", 16)]


def card_number():
    if R.random() < 0.35:
        return pick(PUBLISHED_TEST_CARDS)
    prefix, length = pick(CARD_PREFIXES)
    return luhn_complete(prefix, length)


def card_written(n):
    style = R.random()
    if len(n) == 15:  # Amex 4-6-5
        groups = [n[:4], n[4:10], n[10:]]
    elif len(n) == 14:  # Diners 4-6-4
        groups = [n[:4], n[4:10], n[10:]]
    else:
        groups = [n[i:i + 4] for i in range(0, len(n), 4)]
    if style < 0.35:
        return " ".join(groups)
    if style < 0.55:
        return "-".join(groups)
    if style < 0.8:
        return n
    if style < 0.9:
        return NBSP.join(groups)
    return " ".join(groups[:2]) + "\n" + " ".join(groups[2:])


def iban(country, bban):
    digits = "".join(str(int(c, 36)) for c in bban + country + "00")
    check = 98 - int(digits) % 97
    return f"{country}{check:02d}{bban}"


def rdigits(n):
    return "".join(R.choice(string.digits) for _ in range(n))


def rupper(n):
    return "".join(R.choice(string.ascii_uppercase) for _ in range(n))


BBAN = {  # country -> BBAN shape from the SWIFT IBAN registry
    "DE": lambda: rdigits(18), "GB": lambda: rupper(4) + rdigits(14), "FR": lambda: rdigits(10) + rupper(1) + rdigits(12),
    "ES": lambda: rdigits(20), "IT": lambda: rupper(1) + rdigits(22), "NL": lambda: rupper(4) + rdigits(10),
    "BE": lambda: rdigits(12), "CH": lambda: rdigits(17), "AT": lambda: rdigits(16), "PL": lambda: rdigits(24),
    "SE": lambda: rdigits(20), "NO": lambda: rdigits(11), "IE": lambda: rupper(4) + rdigits(14),
    "PT": lambda: rdigits(21), "DK": lambda: rdigits(14), "FI": lambda: rdigits(14), "LU": lambda: rdigits(16),
    "CZ": lambda: rdigits(20), "GR": lambda: rdigits(23), "RO": lambda: rupper(4) + rdigits(16),
}
PUBLISHED_IBANS = ["DE89370400440532013000", "GB82WEST12345698765432", "FR1420041010050500013M02606",
                   "ES9121000418450200051332", "IT60X0542811101000000123456", "NL91ABNA0417164300",
                   "BE68539007547034", "CH9300762011623852957", "AT611904300234573201",
                   "PL61109010140000071219812874", "NO9386011117947", "IE29AIBK93115212345678"]


def iban_value():
    if R.random() < 0.3:
        return pick(PUBLISHED_IBANS)
    c = pick(list(BBAN))
    return iban(c, BBAN[c]())


def iban_written(v):
    groups = [v[i:i + 4] for i in range(0, len(v), 4)]
    style = R.random()
    if style < 0.3:
        s = " ".join(groups)
    elif style < 0.5:
        s = v
    elif style < 0.62:
        s = " ".join(groups).lower()
    elif style < 0.72:
        s = v.lower()
    elif style < 0.8:
        s = v[:2] + v[2:].lower() if R.random() < 0.5 else v[0] + v[1].lower() + v[2:]
    elif style < 0.9:
        s = NBSP.join(groups)
    else:
        half = len(groups) // 2
        s = " ".join(groups[:half]) + "\n" + " ".join(groups[half:])
    return s


def ssn_value():
    while True:
        area = R.randint(1, 899)
        if area != 666:
            break
    return f"{area:03d}", f"{R.randint(1, 99):02d}", f"{R.randint(1, 9999):04d}"


PHONES = {  # country -> numbers as people write them (national and international)
    "US": ["(415) 555-0132", "212-555-0147", "+1 646 555 0199", "(312) 555-0176", "617.555.0123",
           "+1-415-555-0180", "+14155550143", "1-800-555-0199", "(206) 555-0110"],
    "CA": ["+1 604 555 0147", "(416) 555-0199", "+1 (514) 555-0163"],
    "GB": ["020 7946 0958", "+44 20 7946 0018", "0161 496 0734", "07911 123456", "+44 7911 123456",
           "0044 20 7946 0321", "+44-20-7946-0958", "+442079460958", "020 3014 5566"],
    "DE": ["030 12345678", "+49 30 901820", "+49 151 23456789", "089 12345678", "0151 23456789",
           "+49-40-1234567", "+49 (0)30 901820", "0049 89 636 48018", "+4915123456789"],
    "FR": ["06 12 34 56 78", "01 23 45 67 89", "+33 6 12 34 56 78", "+33 1 42 68 53 00", "07 81 23 45 67",
           "06.98.76.54.32", "+33 (0)6 12 34 56 78", "+33-6-12-34-56-78"],
    "IN": ["98765 43210", "+91 98765 43210", "+91-22-2778-2000", "080 2345 6789", "+91 80 4567 8901",
           "+919820012345", "022 2778 2000"],
    "ES": ["912 345 678", "612 34 56 78", "+34 612 345 678", "+34 91 123 45 67", "934 56 78 90"],
    "IT": ["02 1234 5678", "347 123 4567", "+39 06 6982 1234", "+39 347 123 4567", "06 6982 1234"],
    "NL": ["020 123 4567", "06 12345678", "+31 6 12345678", "+31 20 123 4567", "010 234 5678"],
    "AU": ["02 5550 1234", "0491 570 156", "+61 2 5550 1234", "+61 491 570 157", "(02) 9876 5432"],
    "BR": ["(11) 91234-5678", "+55 11 91234-5678", "(21) 2345-6789", "+55 21 98765-4321"],
    "JP": ["+81 3-1234-5678", "+81 90-1234-5678"],
    "MX": ["+52 55 1234 5678"],
    "IE": ["+353 1 234 5678"],
    "CH": ["+41 44 668 18 00"],
    "SE": ["+46 8 123 456 78"],
    "ZA": ["+27 21 123 4567"],
    "SG": ["+65 6123 4567"],
    "PL": ["+48 22 123 45 67"],
    "NZ": ["+64 9 379 1234"],
    "KR": ["+82 2 312 3456"],
    "CN": ["+86 10 6552 9988"],
    "AT": ["+43 1 58858 0"],
    "BE": ["+32 2 555 12 34"],
    "PT": ["+351 21 123 4567"],
    "DK": ["+45 32 12 34 56"],
}
EXTENSIONS = ["(415) 555-0132 ext. 204", "212-555-0147 x31", "+44 20 7946 0958 ext 12",
              "+1 (312) 555-0176 ext. 12", "(617) 555-0123 extension 4410", "+49 30 901820-0 x 77",
              "415-555-0132 Ext. 204", "(206) 555-0110 ext.55", "+1 646 555 0199 x 9", "212-555-0147, ext 31"]
OTHER_WRITINGS = ["(+44) 20 7946 0958", "+44 (0) 20 7946 0958", "+33 (0)1 42 68 53 00", "+1 (415) 555-0132",
                  "+91 22 2778 2000", "+61 (0)2 5550 1234", "+49 (0) 30 12345678", "+34-612-345-678",
                  "+353 (0)1 234 5678", "+27 (0)21 123 4567", "+39 02 1234 5678", "+31 (0)20 123 4567"]


def phone_value():
    r = R.random()
    if r < 0.1:
        return pick(EXTENSIONS)
    if r < 0.18:
        return pick(OTHER_WRITINGS)
    v = pick(PHONES[pick(list(PHONES))])
    if r < 0.16 and " " in v:  # a no-break space or a line break inside the number
        return v.replace(" ", NBSP) if R.random() < 0.5 else v.replace(" ", "\n", 1) if v.count(" ") > 1 else v
    return v


EMAILS = ["jane.doe@example.com", "j.smith+billing@company.co.uk", "maria.garcia@correo.es",
          "li.wei@mail.cn", "Pierre.Martin@Orange.fr", "k.mueller@web.de", "a.rossi@libero.it",
          "priya.sharma@rediffmail.com", "tom_o-brien@eircom.net", "s.tanaka@docomo.ne.jp",
          "jo@sub.domain.org", "FINANCE@ACME-CORP.COM", "ana.silva@uol.com.br", "lars.nilsson@telia.se",
          "noah.williams@outlook.com", "chloe.dubois@free.fr", "ahmed.hassan@gmail.com",
          "olivia.brown@icloud.com", "m.kowalski@wp.pl", "sven.jansen@ziggo.nl"]

SSN_STYLES = ["{a}-{g}-{s}", "{a} {g} {s}", "{a}{g}{s}"]

IPV4 = ["73.162.44.201", "203.0.113.7", "198.51.100.23", "192.168.1.20", "172.16.4.19", "81.2.69.160",
        "91.198.174.192", "104.16.132.229", "185.199.108.153", "66.249.66.1", "10.0.0.12",
        "100.64.12.7", "51.15.203.88", "141.101.90.4", "94.130.12.66"]
IPV6 = ["2001:db8::8a2e:370:7334", "2606:4700:4700::1111", "fe80::1ff:fe23:4567:890a",
        "2001:db8:85a3::8a2e:370:7334", "2a00:1450:4001:81b::200e", "2001:0db8:0000:0000:0000:ff00:0042:8329",
        "2404:6800:4003:c00::64", "2620:fe::fe"]

B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
ALNUM = string.ascii_letters + string.digits


def rand(alphabet, n):
    return "".join(R.choice(alphabet) for _ in range(n))


def crc32_base62(s):
    v = zlib.crc32(s.encode())
    out = ""
    while v:
        out = B62[v % 62] + out
        v //= 62
    return out.rjust(6, "0")


def checksummed(prefix):
    body = rand(ALNUM, 30)
    return prefix + body + crc32_base62(body)


HEX = "0123456789abcdef"
B64 = string.ascii_letters + string.digits + "+/"
B64URL = string.ascii_letters + string.digits + "-_"


def jwt():
    import base64
    header = base64.urlsafe_b64encode(json.dumps({"alg": pick(["HS256", "RS256"]), "typ": "JWT"}).encode()).decode().rstrip("=")
    payload = base64.urlsafe_b64encode(json.dumps({"sub": rdigits(8), "iat": 1764428400}).encode()).decode().rstrip("=")
    return f"{header}.{payload}.{rand(B64URL, 43)}"


def secret_value():
    """Returns (text value, frame kind): 'token' for prefixed tokens, or a ready phrase."""
    k = R.randrange(24)
    if k == 0: return checksummed("ghp_")
    if k == 1: return checksummed(pick(["gho_", "ghu_", "ghs_"]))
    if k == 2: return checksummed("npm_")
    if k == 3: return "glpat-" + rand(ALNUM + "-_", 20)
    if k == 4: return pick(["xoxb-", "xoxp-"]) + rdigits(12) + "-" + rdigits(13) + "-" + rand(ALNUM, 24)
    if k == 5: return pick(["sk_live_", "sk_test_", "rk_live_"]) + rand(ALNUM, 24)
    if k == 6: return "SG." + rand(B64URL, 22) + "." + rand(B64URL, 43)
    if k == 7: return "AIza" + rand(B64URL, 35)
    if k == 8: return "sk-proj-" + rand(ALNUM + "-_", 48)
    if k == 9: return "sk-ant-api03-" + rand(ALNUM + "-_", 93) + "AA"
    if k == 10: return "SK" + rand(HEX, 32)
    if k == 11: return "key-" + rand(HEX, 32)
    if k == 12: return "pypi-AgEIcHlwaS5vcmc" + rand(B64URL, 70)
    if k == 13: return pick(["shpat_", "shpss_"]) + rand(HEX, 32)
    if k == 14: return "dop_v1_" + rand(HEX, 64)
    if k == 15: return "AccountKey=" + rand(B64, 86) + "=="
    if k == 16: return "hf_" + rand(string.ascii_letters, 34)
    if k == 17: return pick(["AKIA", "ASIA"]) + rand(string.ascii_uppercase + "234567", 16)
    if k == 18: return "-----BEGIN " + pick(["RSA ", "EC ", "OPENSSH ", ""]) + "PRIVATE KEY-----"
    if k == 19: return jwt()
    if k == 20: return "whsec_" + rand(ALNUM, 32)
    if k == 21: return "dapi" + rand(HEX, 32)
    if k == 22: return "lin_api_" + rand(ALNUM, 40)
    return "hvs." + rand(B64URL, 90)


def password_value():
    words = ["Summer", "Blue", "River", "Falcon", "Maple", "Tiger", "Orbit", "Cedar", "Lotus", "Nova"]
    return pick([
        lambda: pick(words) + str(R.randint(10, 9999)) + pick(["!", "#", "$", "?", ""]),
        lambda: rand(ALNUM, R.randint(10, 16)),
        lambda: rand(ALNUM + "!#$%&*", R.randint(9, 14)),
        lambda: pick(words).lower() + "-" + pick(words).lower() + "-" + str(R.randint(10, 99)),
    ])()


# ---------------------------------------------------------------- frames with data

NAMES = ["Jane", "Carlos", "Priya", "Mohammed", "Sophie", "Kenji", "Anna", "Lukas", "Amara", "Diego", "Emma", "Wei"]
GREET = ["Hi {n},", "Hello {n},", "Dear {n},", "Thanks for reaching out, {n}.", "Hi there,", "Good morning {n},", ""]
CLOSE = ["", " Let me know if there's anything else.", " Have a great day!", " Best regards, Support Team.",
         " Is there anything else I can help with?", " Thanks for your patience."]


def wrap(body):
    g = pick(GREET).format(n=pick(NAMES))
    c = pick(CLOSE)
    return (g + " " if g else "") + body + c


EMAIL_FRAMES = [
    "I've updated the contact address on your account to {v}.",
    "The invoice was sent to {v} this morning; please check your spam folder too.",
    "Your account manager is {v}, copy them on the reply.",
    "We found two accounts: one under {v} and one under a work address.",
    "Email:{v}",
    "Please forward the receipt to <{v}> so finance can process the refund.",
    "Contact details on file: {v} (primary).",
    "The reset link went to {v} at 09:14 UTC.",
    "customer_email={v}&plan=pro",
    "I can see the booking was made by {v}, not by you.",
]
PHONE_FRAMES = [
    "You can reach our engineer on {v} until 6pm.",
    "The courier will call {v} before delivery.",
    "I've noted your number as {v} for callbacks.",
    "Phone: {v}",
    "Tel:{v}",
    "Our records show the mobile number {v} on this account.",
    "Please ring the branch on {v} to confirm.",
    "Updated: contact {v} (mobile).",
    "The customer left a voicemail from {v} yesterday.",
    "We'll text a code to {v} shortly.",
    "Best number to reach her is {v}.",
    "Alternate contact: {v}",
    "Your landlord's number, {v}, is the one in the lease.",
    "He asked us to call back at {v} after lunch.",
    "phone:{v}",
    "tel. {v}",
    "Mob: {v}",
    "If the line drops, the direct number is {v}.",
    "WhatsApp him on {v} - he prefers that.",
]
CARD_FRAMES = [
    "The charge was made on the card {v}, exp 09/27.",
    "Card:{v},exp:09/27",
    "Card No:{v}",
    "I see a payment from card number {v} on 3 March.",
    "Your Visa {v} was declined by the issuer.",
    "To confirm: the card on file is {v}.",
    "Refund issued to {v} (CVV not stored).",
    "The customer pasted their card {v} in the chat.",
    "Payment details: {v}, 12/28, 123",
    "cc={v}",
    "He read out his debit card, {v}, over the phone.",
    "We tried charging {v} three times.",
]
IBAN_FRAMES = [
    "The refund will go to IBAN {v} within 3-5 business days.",
    "Please confirm the account {v} is still yours.",
    "Bank details received: {v} (Sparkasse).",
    "IBAN: {v}",
    "iban={v}",
    "Transfer to {v} was initiated today.",
    "Your new payout account is {v}.",
    "I've replaced the old account with {v} as requested.",
    "Wire the deposit to {v}, reference INV-20931.",
    "Beneficiary: Lukas Weber, {v}",
]
SSN_FRAMES = [
    "SSN {v} matches the application.",
    "SSN:{v}",
    "The social security number on file is {v}.",
    "I verified the SSN ({v}) against the tax form.",
    "Her social security no. {v} was entered twice.",
    "ssn={v}",
    "For the W-9 we have SSN {v}.",
    "Your SSN ending in the digits shown ({v}) is confirmed.",
]
SSN_BARE_FRAMES = ["SSN {v} is on the 1099.", "My ssn is {v}", "social security number: {v}"]
IPV4_FRAMES = [
    "The login came from {v} at 02:13 UTC.",
    "IP:{v}",
    "We blocked {v}:51234 after repeated failures.",
    "Add {v}/32 to the allowlist.",
    "Your last sign-in was from IP address {v} (Frankfurt).",
    "Requests from {v} were rate limited.",
    "client_ip={v}",
    "The device at {v} was flagged.",
    "Source address {v} matches the fraud report.",
    "Your router's public address is {v}.",
]
IPV6_FRAMES = [
    "The request came from {v}.",
    "IP:{v}",
    "Client address: {v}",
    "We saw logins from {v} and one IPv4 address.",
    "Whitelisted {v} for the API.",
    "src={v}",
]
KEY_PROSE_FRAMES = [
    "Your API key is {v} - keep it somewhere safe.",
    "The access token is {v} and it expires in an hour.",
    "Here is your new API key: {v}",
    "The client secret is {v}.",
]
SECRET_FRAMES = [
    "Here's the key you asked for: {v}",
    "Use this token in the header: {v}",
    "The deploy key is {v} - please rotate it after.",
    "Config: API_TOKEN={v}",
    "Your new credential: {v}",
    "I found {v} in the pasted log.",
    "export TOKEN={v}",
    "\"token\": \"{v}\"",
    "Authorization: Bearer {v}",
    "Set the secret to {v} in the dashboard.",
]
PASSWORD_FRAMES = [
    "Your new password is {v}",
    "Your temporary password is {v} - change it after first login.",
    "I've reset it; the password is now {v}.",
    "password: {v}",
    "DB_PASSWORD={v}",
    "Login: admin / password: {v}",
    "The Wi-Fi password is {v}.",
    "Your password has been reset to {v}",
    "mysql -u root --password={v}",
    "{{\"username\": \"ops\", \"password\": \"{v}\"}}",
    "Temporary passcode: {v}",
]
AWS_SECRET_FRAMES = [
    "aws_access_key_id = {k}\naws_secret_access_key = {v}",
    "Access key: {k}, secret access key: {v}",
    "Here are the credentials: {k} / {v}",
    "AWS_SECRET_ACCESS_KEY={v}",
    "SecretAccessKey: {v}",
]
URL_PW_FRAMES = [
    "Connect with postgres://app:{v}@db.internal:5432/orders",
    "The mirror is at https://deploy:{v}@git.example.net/repo.git",
    "redis://default:{v}@cache-7.example.com:6379",
]


def labelled(kind_values, text):
    labels = []
    for kind, v in kind_values:
        assert v in text, (v, text)
        labels.append({"kind": kind, "value": v})
    return {"text": text, "labels": labels}


def with_email():
    v = pick(EMAILS)
    return labelled([("email", v)], wrap(pick(EMAIL_FRAMES).format(v=v)))


def with_phone():
    v = phone_value()
    return labelled([("phone", v)], wrap(pick(PHONE_FRAMES).format(v=v)))


def with_card():
    v = card_written(card_number())
    return labelled([("card", v)], wrap(pick(CARD_FRAMES).format(v=v)))


def with_iban():
    v = iban_written(iban_value())
    return labelled([("iban", v)], wrap(pick(IBAN_FRAMES).format(v=v)))


def with_ssn():
    a, g, s = ssn_value()
    if R.random() < 0.2:
        v = a + g + s
        return labelled([("ssn", v)], wrap(pick(SSN_BARE_FRAMES).format(v=v)))
    v = pick(SSN_STYLES[:2]).format(a=a, g=g, s=s)
    return labelled([("ssn", v)], wrap(pick(SSN_FRAMES).format(v=v)))


def with_ip():
    if R.random() < 0.55:
        v = pick(IPV4)
        return labelled([("ipv4", v)], wrap(pick(IPV4_FRAMES).format(v=v)))
    v = pick(IPV6)
    return labelled([("ipv6", v)], wrap(pick(IPV6_FRAMES).format(v=v)))


def with_secret():
    r = R.random()
    if r < 0.2:
        v = password_value()
        return labelled([("secret", v)], wrap(pick(PASSWORD_FRAMES).format(v=v)))
    if r < 0.3:
        k = "AKIA" + rand(string.ascii_uppercase + "234567", 16)
        v = rand(B64, 40)
        frame = pick(AWS_SECRET_FRAMES)
        kinds = [("secret", v)] + ([("secret", k)] if "{k}" in frame else [])
        return labelled(kinds, wrap(frame.format(k=k, v=v)))
    if r < 0.36:
        v = rand(ALNUM, 14)
        return labelled([("secret", v)], wrap(pick(URL_PW_FRAMES).format(v=v)))
    if r < 0.42:
        v = pick([rand(HEX, 32), rand(ALNUM, 40), rand(B64URL, 28)])
        return labelled([("secret", v)], wrap(pick(KEY_PROSE_FRAMES).format(v=v)))
    v = secret_value()
    if v.startswith("-----BEGIN"):
        body = "\n".join(rand(B64, 64) for _ in range(3))
        frame = pick(["Here is the key file you sent:\n{v}\n" + body, "id_rsa contents: {v} " + body[:40] + "...",
                      "Don't paste keys in chat - I've removed {v} from the ticket."])
        return labelled([("secret", v)], wrap(frame.format(v=v)))
    return labelled([("secret", v)], wrap(pick(SECRET_FRAMES).format(v=v)))


def with_two():
    a, b = R.sample([with_email, with_phone, with_card, with_iban, with_ip], 2)
    x, y = a(), b()
    return {"text": x["text"] + " " + y["text"], "labels": x["labels"] + y["labels"]}


# ---------------------------------------------------------------- clean but hard

def uuid():
    h = rand(HEX, 32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{pick('89ab')}{h[17:20]}-{h[20:]}"


def date():
    y, m, d = R.randint(2024, 2027), R.randint(1, 12), R.randint(1, 28)
    return pick([f"{y}-{m:02d}-{d:02d}", f"{d:02d}/{m:02d}/{y}", f"{m}/{d}/{y}", f"{d:02d}.{m:02d}.{y}",
                 f"{d} March {y}"])


def clock():
    return pick([f"{R.randint(0, 23):02d}:{R.randint(0, 59):02d}", f"{R.randint(0, 23):02d}:{R.randint(0, 59):02d}:{R.randint(0, 59):02d}",
                 f"{R.randint(1, 12)}:{R.randint(0, 59):02d} pm"])


def price():
    return pick([f"${R.randint(1, 2999)}.{R.randint(0, 99):02d}", f"€{R.randint(1, 999)},{R.randint(0, 99):02d}",
                 f"£{R.randint(1, 500)}.{R.randint(0, 99):02d}", f"{R.randint(1, 9)},{R.randint(100, 999)}.00 USD",
                 f"{R.randint(1, 9)}{NBSP}{R.randint(100, 999)},00 €", f"₹{R.randint(1, 99)},{R.randint(100, 999)}"])


def version():
    return pick([f"{R.randint(1, 20)}.{R.randint(0, 30)}.{R.randint(0, 9)}",
                 f"{R.randint(1, 9)}.{R.randint(0, 20)}.{R.randint(0, 9)}.{R.randint(1, 30)}",
                 f"v{R.randint(1, 5)}.{R.randint(0, 20)}.{R.randint(0, 99)}",
                 f"{R.randint(100, 130)}.0.{R.randint(6000, 6999)}.{R.randint(10, 200)}",
                 f"10.0.{R.randint(19041, 22631)}.{R.randint(100, 4000)}"])


def luhn_failing(prefix, length):
    n = luhn_complete(prefix, length)
    return n[:-1] + str((int(n[-1]) + R.randint(1, 9)) % 10)


def sha(n):
    return rand(HEX, n)


CLEAN_FRAMES = [
    lambda: f"Your order ORD-{R.randint(2024, 2027)}-{rdigits(6)} ships on {date()}.",
    lambda: f"Order #{rdigits(3)}-{rdigits(7)}-{rdigits(7)} was delivered at {clock()}.",
    lambda: f"The tracking number is 1Z{rupper(3)}{rdigits(3)}{rdigits(10)}; UPS shows it in transit.",
    lambda: f"USPS tracking {rdigits(4)} {rdigits(4)} {rdigits(4)} {rdigits(4)} {rdigits(4)} {rdigits(2)} - expected {date()}.",
    lambda: f"FedEx tracking {rdigits(4)} {rdigits(4)} {rdigits(4)} updated at {clock()}.",
    lambda: f"DHL waybill {rdigits(10)} left the hub in Leipzig.",
    lambda: f"The total is {price()} including VAT, charged on {date()}.",
    lambda: f"Your refund of {price()} was approved; it takes 5-10 business days.",
    lambda: f"The meeting is on {date()} at {clock()} CET.",
    lambda: f"We'll call you back between {clock()} and {clock()} tomorrow.",
    lambda: f"Please update the app to {version()} - the bug is fixed there.",
    lambda: f"You're running build {version()}; the fix shipped in {version()}.",
    lambda: f"Upgrade to {R.randint(1, 9)}.{R.randint(0, 20)}.{R.randint(0, 9)}.{R.randint(1, 30)} resolves the crash.",
    lambda: f"Windows {version()} is supported; Chrome {R.randint(110, 130)}.0.{R.randint(6000, 6999)}.{R.randint(10, 200)} too.",
    lambda: f"Request ID {uuid()} failed at {clock()}.",
    lambda: f"Your session id is {uuid()}; share it with engineering if it happens again.",
    lambda: f"The file's SHA-256 is {sha(64)}.",
    lambda: f"Fixed in commit {sha(40)} (short {sha(7)}).",
    lambda: f"MD5 checksum: {sha(32)}",
    lambda: f"Your flight {pick(['LH', 'BA', 'UA', 'AF', 'EK', 'QF', 'DL'])} {R.randint(10, 9999)} departs {date()} at {clock()} from gate B{R.randint(1, 60)}.",
    lambda: f"Flight {pick(['LH', 'BA', 'UA', 'AF'])}{R.randint(100, 9999)} was rebooked to {pick(['KL', 'IB', 'AA'])}{R.randint(100, 9999)}.",
    lambda: f"Lab accession number {rdigits(2)}-{rdigits(3)}-{rdigits(4)} is ready; results were posted at {clock()}.",
    lambda: f"Specimen {rdigits(4)} {rdigits(4)} {rdigits(4)} was received by the lab on {date()}.",
    lambda: f"Accession {pick(['S', 'H', 'M'])}{R.randint(20, 26)}-{rdigits(6)} has been finalised.",
    lambda: f"Clone it with git@github.com:{pick(['acme', 'firebreak', 'octo'])}/{pick(['api', 'web', 'agent'])}.git and run make.",
    lambda: f"The remote is git@gitlab.com:{pick(['team', 'ops'])}/infra.git; push to the release branch.",
    lambda: f"The mirror lives at ssh://git@bitbucket.org/acme/{pick(['app', 'tools'])}.git.",
    lambda: f"This affects versions {R.randint(1, 9)}.{R.randint(0, 9)}.{R.randint(0, 9)}.{R.randint(0, 9)} through {R.randint(1, 9)}.{R.randint(0, 9)}.{R.randint(0, 9)}.{R.randint(0, 9)}.",
    lambda: f"Firmware {R.randint(1, 3)}.{R.randint(0, 20)}.{R.randint(0, 9)}.{R.randint(0, 30)} is the latest for your router.",
    lambda: f"Invoice INV-{rdigits(8)} for SKU {rupper(2)}-{rdigits(4)}-{rupper(3)}, qty {R.randint(1, 20)}.",
    lambda: f"Case {rdigits(8)} is linked to ticket #{rdigits(6)}.",
    lambda: f"Your confirmation number is {rdigits(4)} {rdigits(4)} {rdigits(4)}.",
    lambda: f"Booking reference {rupper(6)}; seat {R.randint(1, 40)}{pick('ABCDEF')}.",
    lambda: f"Account reference {luhn_failing(pick(['4', '51', '6011']), 16)} is the internal id, not a card.",
    lambda: f"The transaction id is {rdigits(16)} and the batch is {rdigits(6)}.",
    lambda: f"ISBN {pick(['978-3-16-148410-0', '978-0-306-40615-7', '978-1-4028-9462-6'])} is back in stock.",
    lambda: f"IMEI {rdigits(2)}-{rdigits(6)}-{rdigits(6)}-{rdigits(1)} is registered to the handset.",
    lambda: f"Coordinates: {R.uniform(-80, 80):.4f}, {R.uniform(-170, 170):.4f}.",
    lambda: f"The event timestamp was {R.randint(1700000000, 1790000000)} (epoch seconds), i.e. {date()} {clock()}.",
    lambda: f"Logged at {date()}T{R.randint(0, 23):02d}:{R.randint(0, 59):02d}:{R.randint(0, 59):02d}.{rdigits(3)}Z with latency {R.randint(1, 999)} ms.",
    lambda: f"Please don't share your password with anyone, including our staff.",
    lambda: f"Your password must be at least {R.randint(8, 16)} characters and include a number.",
    lambda: f"Reset your password using the link we emailed; it expires in {R.randint(1, 48)} hours.",
    lambda: f"The password is case-sensitive, so check caps lock.",
    lambda: f"Set api_key=<your key here> in the config, never the real value in tickets.",
    lambda: f"password: ******** (hidden for your security)",
    lambda: f"Use the publishable key pk_live_{rand(ALNUM, 24)} in the checkout page; it is public by design.",
    lambda: f"scikit-learn is installed as sk-learn-compat-layer in that image.",
    lambda: f"MAC address {':'.join(rand(HEX, 2).upper() for _ in range(6))} is paired.",
    lambda: f"The service listens on localhost:{R.randint(1024, 65535)} and 127.0.0.1.",
    lambda: f"Use std::vector<int> and call v.size() - see Foo::Bar::baz.",
    lambda: f"Sort code and reference: REF {rdigits(2)}-{rdigits(2)}-{rdigits(2)}/{rdigits(4)}.",
    lambda: f"Your loyalty points: {R.randint(1000, 99999):,}. Next tier at {R.randint(100000, 999999):,}.",
    lambda: f"Room {R.randint(100, 1999)}, floor {R.randint(1, 30)}, {R.randint(1, 999)} Baker Street, London NW1 6XE.",
    lambda: f"The package weighs {R.randint(1, 40)}.{R.randint(0, 9)} kg and measures {R.randint(10, 99)}x{R.randint(10, 99)}x{R.randint(10, 99)} cm.",
    lambda: f"Patient MRN {rdigits(8)}, visit {rdigits(6)}, ward {R.randint(1, 12)}.",
    lambda: f"Error 0x{rand(HEX, 8).upper()} at offset {R.randint(1000, 99999)}; retry after {R.randint(1, 60)}s.",
    lambda: f"Serial number {rupper(3)}{rdigits(9)} is covered until {date()}.",
    lambda: f"Your gift card code is {rupper(4)}-{rupper(4)}-{rupper(4)}; the balance is {price()}.",
    lambda: f"Policy number {rdigits(3)} {rdigits(3)} {rdigits(4)} renews on {date()}.",
    lambda: f"Kubernetes pod api-{rand(HEX, 10)}-{rand(string.ascii_lowercase + string.digits, 5)} restarted {R.randint(2, 40)} times.",
    lambda: f"Image sha256:{sha(64)} was pushed to the registry.",
    lambda: f"Subnet mask 255.255.255.0 and gateway settings are unchanged.",
    lambda: f"Dial-in: meeting ID {rdigits(3)} {rdigits(4)} {rdigits(4)}, passcode {rdigits(6)}.",
    lambda: f"PO {rdigits(10)} covers {R.randint(2, 500)} units at {price()} each.",
    lambda: f"Ticket JIRA-{rdigits(5)} is blocked by PR #{rdigits(4)}.",
    lambda: f"Promo code SPRING{R.randint(10, 50)} gives {R.randint(5, 40)}% off until {date()}.",
    lambda: f"The UPC on the box is {rdigits(12)}.",
    lambda: f"VAT number DE{rdigits(9)} is on the invoice header.",
    lambda: f"Your appointment moved from {clock()} to {clock()} on {date()}.",
    lambda: f"The reading was {R.randint(100, 999)}.{rdigits(4)} at {clock()}, within tolerance.",
    lambda: f"Container MSCU{rdigits(7)} cleared customs on {date()}.",
    lambda: f"Base64 preview: {rand(B64, 60)}==",
    lambda: f"Hex colour #{rand(HEX, 6)} is the brand accent.",
    lambda: f"Open 192.168.{pick(['0', '1'])}.1 in your browser to reach the router's admin page.",
    lambda: f"Set the DNS server to 1.1.1.1 or 9.9.9.9 if pages load slowly.",
    lambda: f"The price went from {R.randint(1, 9)} {R.randint(100, 999)} {R.randint(100, 999)},00 € to a lower tier.",
    lambda: f"Ship to ZIP {rdigits(5)}-{rdigits(4)}; the warehouse closes at {clock()}.",
    lambda: f"Your plan runs from {date()} to {date()}, billed on the {R.randint(1, 28)}th.",
    lambda: f"Build {date()}T{R.randint(0, 23):02d}{R.randint(0, 59):02d}{R.randint(0, 59):02d}Z passed all {R.randint(100, 999)} tests.",
    lambda: f"Serial SN {rdigits(4)}-{rdigits(4)}-{rdigits(4)} is eligible for the recall.",
    lambda: f"Your parcel {rdigits(3)} {rdigits(3)} {rdigits(3)} {rdigits(3)} is with the local depot.",
    lambda: f"The install needs {R.randint(2, 16)} GB RAM and {R.randint(20, 500)} GB disk; it took {R.randint(2, 59)} min {R.randint(2, 59)} s.",
    lambda: f"Rate: {R.randint(1, 9)}.{rdigits(4)} EUR/USD on {date()}, fee {price()}.",
    lambda: f"Python {pick(['3.10.2.1', '3.11.4.2', '3.9.18.1'])} ships the patched OpenSSL.",
    lambda: f"Version {pick(['2.4.1.3', '7.0.12.4', '11.2.0.8'])} fixes the sync issue; {pick(['4.2.1.7', '5.10.3.1'])} is next.",
    lambda: f"Your case is {rdigits(2)}-{rdigits(3)}-{rdigits(4)} and the agent's extension is internal.",
    lambda: f"Member since {R.randint(2001, 2025)}; membership no. {rdigits(4)} {rdigits(4)} {rdigits(2)}.",
    lambda: f"Your API key is shown once in the dashboard; we can't see it on our side.",
    lambda: f"The token expires after {R.randint(1, 24)} hours; generate a new one under Settings > Tokens.",
]


def clean():
    parts = [pick(CLEAN_FRAMES)() for _ in range(R.randint(1, 3))]
    return {"text": wrap(" ".join(parts)), "labels": []}


def main():
    rows = []
    makers = ([with_email] * 70 + [with_phone] * 130 + [with_card] * 75 + [with_iban] * 75 + [with_ssn] * 55 +
              [with_ip] * 80 + [with_secret] * 120 + [with_two] * 40)
    for make in makers:
        rows.append(make())
    for _ in range(len(makers)):
        rows.append(clean())
    R.shuffle(rows)
    for i, r in enumerate(rows):
        print(json.dumps({"id": i + 1, "text": r["text"], "labels": r["labels"]}, ensure_ascii=False))


if __name__ == "__main__":
    main()
