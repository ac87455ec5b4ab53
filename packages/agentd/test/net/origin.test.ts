// An "Always" answer to an approval writes a policy pattern for the URL's origin: the origin must be
// in normal form, and a host that would be a wildcard in that pattern is refused.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { originOf, plainHost } from "../../src/net/origin.ts";

describe("net origin", () => {
  test("the origin is scheme, host and port in normal form: lower case, punycode, no default port, no path or credentials", () => {
    assert.equal(originOf("HTTPS://Bücher.Example:443/x?y#z"), "https://xn--bcher-kva.example");
    assert.equal(originOf("http://a.test:8080/p"), "http://a.test:8080");
    assert.equal(originOf("http://a.test:80/"), "http://a.test");
    assert.equal(originOf("http://user:secret@A.Test/"), "http://a.test");
    assert.equal(originOf("http://[::1]:3000/"), "http://[::1]:3000");
    assert.throws(() => originOf("not a url"), TypeError);
  });

  test("a * in the host is refused (it would widen the pattern); anywhere else it is plain, and an unparsable URL is left to the URL check", () => {
    assert.equal(plainHost("https://*.evil.test/"), false);
    assert.equal(plainHost("https://api.*/"), false);
    assert.equal(plainHost("https://ok.test/*"), true);
    assert.equal(plainHost("https://ok.test/?q=*"), true);
    assert.equal(plainHost("not a url"), true);
  });
});
