"""Hardening of the control plane, zenctl's output, request-body memory and
config limits: terminal escapes from upstream never reach the terminal, the
in-flight body budget and whole-body deadline, control connections that
cannot lock zenctl out, and provider.disable's for_s range."""
import json
import os
import socket
import struct
import subprocess
import time
import unittest

from test_operations import OpsTestCase, Rpc
from test_proxy import CLIENT_BODY
from zenharness import ZENCTL, RawClient, mp_pack, parse_response, wait_until


def mp_float(x):
    """A MessagePack float 64 (zenharness.mp_pack packs no floats)."""
    return b"\xcb" + struct.pack(">d", x)


def disable_frame(msgid, name, for_s_packed):
    """provider.disable with a hand-packed for_s value."""
    return (b"\x94" + mp_pack(0) + mp_pack(msgid) + mp_pack("provider.disable") +
            b"\x91\x82" + mp_pack("name") + mp_pack(name) + mp_pack("for_s") + for_s_packed)


class ProviderDisableRange(OpsTestCase):
    """for_s of 9.2e15 used to overflow the deadline and silently do
    nothing; now the range is checked and the error names it."""

    def test_out_of_range_for_s_is_refused(self):
        self.start()
        c = RawClient(self.sock)
        try:
            bad = [mp_float(9.2e15), mp_pack(2**62), mp_float(-1.0), mp_pack(0),
                   mp_float(315360000.5), b"\xcb" + struct.pack(">d", float("inf"))]
            for i, packed in enumerate(bad, start=1):
                c.send(disable_frame(i, "p1", packed))
                msg = c.read_message()
                self.assertIsNotNone(msg, "zend closed the connection on %r" % packed)
                self.assertEqual(msg[:2], [1, i])
                err = msg[2]
                self.assertIsNotNone(err, "for_s %r was accepted: %r" % (packed, msg[3]))
                self.assertEqual(err["code"], 2)
                if packed[:1] != b"\xcb" or i != 6:  # +inf is refused by the reader itself
                    self.assertIn("315360000", err["message"])
            # p1 was never disabled by any of them.
            p1 = [p for p in self.health()["providers"] if p["name"] == "p1"][0]
            self.assertNotEqual(p1["status"], "disabled")
            # The reader refuses +inf outright and closes: a new connection.
            c.close()
            c = RawClient(self.sock)
            # The bounds themselves: ten years exactly, and a float.
            c.send(disable_frame(20, "p1", mp_pack(315360000)))
            msg = c.read_message()
            self.assertIsNone(msg[2], msg)
            self.assertTrue(msg[3]["disabled"])
            c.send(disable_frame(21, "p2", mp_float(0.0001)))
            msg = c.read_message()
            self.assertIsNone(msg[2], msg)
        finally:
            c.close()
        h = {p["name"]: p for p in self.health()["providers"]}
        self.assertEqual(h["p1"]["status"], "disabled")

    def test_zenctl_checks_the_range_too(self):
        self.start()
        r = self.zenctl("provider", "disable", "p1", "--for", "9.2e15")
        self.assertEqual(r.returncode, 64, r.stdout + r.stderr)
        self.assertIn("315360000", r.stderr)
        r = self.zenctl("provider", "disable", "p1", "--for", "nan")
        self.assertEqual(r.returncode, 64, r.stdout + r.stderr)
        p1 = [p for p in self.health()["providers"] if p["name"] == "p1"][0]
        self.assertNotEqual(p1["status"], "disabled")
        r = self.zenctl("provider", "disable", "p1", "--for", "315360000")
        self.assertEqual(r.returncode, 0, r.stderr)
        p1 = [p for p in self.health()["providers"] if p["name"] == "p1"][0]
        self.assertEqual(p1["status"], "disabled")


if __name__ == "__main__":
    unittest.main()
