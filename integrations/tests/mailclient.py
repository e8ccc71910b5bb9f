#!/usr/bin/env python3
"""Mail clients for Warden's end-to-end tests: log in over IMAP, POP3 or SMTP
(Python's imaplib, poplib, smtplib) and print what the server answered, one
JSON object per line, so the tests assert on the replies a real client sees.

From a trusted network (Dovecot's login_trusted_networks, Postfix's
smtpd_authorized_xclient_hosts) a client may present another address:
IMAP ID ("x-originating-ip" ...), POP3 and SMTP XCLIENT ADDR=....

  mailclient.py imap --port P --user U --password W [--ip A] [--tls ssl|starttls|none]
                     [--hold]   (stays logged in until a line on stdin, then NOOP)
  mailclient.py pop3 --port P --user U --password W [--ip A] [--tls ...]
  mailclient.py smtp --port P --user U --password W [--ip A] [--rcpt R ...]
                     [--pause-after-auth]   (waits for a line on stdin before MAIL)
"""

import argparse
import imaplib
import json
import poplib
import smtplib
import ssl
import sys
import time

HOST = "127.0.0.1"


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def emit(**fields):
    print(json.dumps(fields), flush=True)


def text(v):
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


def imap(a):
    if a.tls == "ssl":
        m = imaplib.IMAP4_SSL(HOST, a.port, ssl_context=tls_context())
    else:
        m = imaplib.IMAP4(HOST, a.port)
        if a.tls == "starttls":
            m.starttls(ssl_context=tls_context())
    fields = '"name" "%s" "version" "1.0"' % a.client
    if a.ip:
        fields += ' "x-originating-ip" "%s"' % a.ip
    m.xatom("ID", "(%s)" % fields)
    started = time.monotonic()
    typ, data = m._simple_command("LOGIN", m._quote(a.user), m._quote(a.password))
    secs = time.monotonic() - started
    emit(ok=typ == "OK", reply="%s %s" % (typ, text(data[-1])), secs=round(secs, 3))
    if a.hold and typ == "OK":
        # Stay logged in until told to go on, then see whether the
        # connection is still there (an admin may have kicked it).
        sys.stdin.readline()
        try:
            typ, data = m.noop()
            emit(step="noop", ok=typ == "OK", reply="%s %s" % (typ, text(data[-1])))
        except Exception as e:
            emit(step="noop", ok=False, reply="connection closed: %s" % text(e))
            return
    try:
        m.logout()
    except Exception:
        pass


def pop3(a):
    if a.tls == "ssl":
        p = poplib.POP3_SSL(HOST, a.port, context=tls_context())
    else:
        p = poplib.POP3(HOST, a.port)
        if a.tls == "starttls":
            p.stls(context=tls_context())
    if a.ip:
        p._shortcmd("XCLIENT ADDR=%s" % a.ip)
    started = time.monotonic()
    try:
        p.user(a.user)
        reply = text(p.pass_(a.password))
        ok = True
    except poplib.error_proto as e:
        reply = text(e.args[0])
        ok = False
    emit(ok=ok, reply=reply, secs=round(time.monotonic() - started, 3))
    try:
        p.quit()
    except Exception:
        pass


def smtp(a):
    s = smtplib.SMTP(HOST, a.port, local_hostname="client.example.test")
    s.ehlo()
    if a.tls != "none":
        s.starttls(context=tls_context())
        s.ehlo()
    if a.ip:
        code, msg = s.docmd("XCLIENT", "ADDR=%s" % a.ip)
        if code != 220:
            emit(step="xclient", ok=False, reply="%d %s" % (code, text(msg)))
            return
        s.ehlo()
    try:
        code, msg = s.login(a.user, a.password)
        emit(step="auth", ok=True, reply="%d %s" % (code, text(msg)))
    except smtplib.SMTPAuthenticationError as e:
        emit(step="auth", ok=False, reply="%d %s" % (e.smtp_code, text(e.smtp_error)))
        s.quit()
        return
    if a.pause_after_auth:
        sys.stdin.readline()
    code, msg = s.docmd("MAIL", "FROM:<%s>" % a.user)
    emit(step="mail", ok=code == 250, reply="%d %s" % (code, text(msg)))
    accepted = 0
    for r in a.rcpt:
        code, msg = s.docmd("RCPT", "TO:<%s>" % r)
        accepted += code == 250
        emit(step="rcpt", to=r, ok=code == 250, reply="%d %s" % (code, text(msg)))
    if accepted:
        code, msg = s.data(b"Subject: Warden end-to-end test\r\n\r\nHello.\r\n")
        emit(step="data", ok=code == 250, reply="%d %s" % (code, text(msg)))
    s.quit()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("protocol", choices=["imap", "pop3", "smtp"])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--ip")
    ap.add_argument("--tls", choices=["ssl", "starttls", "none"], default="ssl")
    ap.add_argument("--client", default="Thunderbird")
    ap.add_argument("--rcpt", action="append", default=[])
    ap.add_argument("--pause-after-auth", action="store_true")
    ap.add_argument("--hold", action="store_true")
    a = ap.parse_args()
    {"imap": imap, "pop3": pop3, "smtp": smtp}[a.protocol](a)


if __name__ == "__main__":
    main()
