// Offline verification of zhikong credentials (docs/credential.md) in the browser:
// "ZK1:" + Base45 → zlib (DecompressionStream "deflate") → COSE_Sign1 (CBOR) → ES256 over the
// Sig_structure (WebCrypto ECDSA P-256), keys from a trust list signed with Ed25519.

const B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
const MAX_TEXT = 4400;
const MAX_INFLATED = 65536;
const TRUST_DOMAIN = "zhikong-trust-list/1";
const CLAIM_ZHIKONG = -65537;
const COLOURS = new Set(["green", "yellow", "orange", "red"]);
const KINDS = new Set(["screen", "paper"]);

export class StageError extends Error {
  constructor(stage, reason) {
    super(`${stage}: ${reason}`);
    this.stage = stage;
  }
}

// -- Base45 (RFC 9285) -------------------------------------------------------------------------

export function base45Decode(text) {
  const out = [];
  const value = (ch) => {
    const v = B45.indexOf(ch);
    if (v < 0) throw new StageError("base45", `character ${JSON.stringify(ch)} is not Base45`);
    return v;
  };
  for (let i = 0; i < text.length; i += 3) {
    const chunk = text.slice(i, i + 3);
    if (chunk.length === 1) throw new StageError("base45", "a final group of one character");
    if (chunk.length === 3) {
      const n = value(chunk[0]) + value(chunk[1]) * 45 + value(chunk[2]) * 2025;
      if (n > 65535) throw new StageError("base45", "a group exceeds 65535");
      out.push(n >> 8, n & 0xff);
    } else {
      const n = value(chunk[0]) + value(chunk[1]) * 45;
      if (n > 255) throw new StageError("base45", "a final pair exceeds 255");
      out.push(n);
    }
  }
  return new Uint8Array(out);
}

export function base45Encode(bytes) {
  let out = "";
  for (let i = 0; i < bytes.length; i += 2) {
    if (i + 1 < bytes.length) {
      let n = bytes[i] * 256 + bytes[i + 1];
      const c = n % 45; n = (n - c) / 45;
      const d = n % 45; const e = (n - d) / 45;
      out += B45[c] + B45[d] + B45[e];
    } else {
      const n = bytes[i];
      out += B45[n % 45] + B45[Math.floor(n / 45)];
    }
  }
  return out;
}

// -- zlib -------------------------------------------------------------------------------------

function hasZlibHeader(bytes) {
  return bytes.length >= 2 && (bytes[0] & 0x0f) === 8 && ((bytes[0] << 8) | bytes[1]) % 31 === 0;
}

async function inflate(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
  const reader = stream.getReader();
  const parts = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > MAX_INFLATED) {
      await reader.cancel();
      throw new StageError("zlib", `inflates beyond ${MAX_INFLATED} bytes`);
    }
    parts.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) { out.set(part, at); at += part.length; }
  return out;
}

// -- CBOR (RFC 8949): a small decoder for this page ---------------------------------------------

export class Tagged {
  constructor(tag, value) { this.tag = tag; this.value = value; }
}

export function cborDecode(bytes, stage = "cbor") {
  let pos = 0;
  const fail = (reason) => { throw new StageError(stage, reason); };
  const need = (n) => { if (pos + n > bytes.length) fail("truncated"); };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  function argument(info) {
    if (info < 24) return info;
    if (info === 24) { need(1); return bytes[pos++]; }
    if (info === 25) { need(2); const v = view.getUint16(pos); pos += 2; return v; }
    if (info === 26) { need(4); const v = view.getUint32(pos); pos += 4; return v; }
    if (info === 27) {
      need(8);
      const v = view.getBigUint64(pos); pos += 8;
      return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
    }
    if (info === 31) return -1; // indefinite
    return fail(`reserved additional information ${info}`);
  }
  function chunks(major) {
    const parts = [];
    for (;;) {
      need(1);
      if (bytes[pos] === 0xff) { pos++; break; }
      const item = read(0);
      if ((major === 2 && !(item instanceof Uint8Array)) || (major === 3 && typeof item !== "string")) {
        fail("bad indefinite-length string chunk");
      }
      parts.push(item);
    }
    if (major === 3) return parts.join("");
    const total = parts.reduce((n, p) => n + p.length, 0);
    const out = new Uint8Array(total);
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  }
  function read(depth) {
    if (depth > 24) fail("nested too deeply");
    need(1);
    const initial = bytes[pos++];
    const major = initial >> 5;
    const info = initial & 0x1f;
    if (major === 7) {
      if (info === 20) return false;
      if (info === 21) return true;
      if (info === 22) return null;
      if (info === 23) return undefined;
      if (info === 24) { need(1); pos++; return undefined; }
      if (info === 25) { need(2); const h = view.getUint16(pos); pos += 2; return halfFloat(h); }
      if (info === 26) { need(4); const v = view.getFloat32(pos); pos += 4; return v; }
      if (info === 27) { need(8); const v = view.getFloat64(pos); pos += 8; return v; }
      return fail(`unsupported simple value ${info}`);
    }
    const arg = argument(info);
    switch (major) {
      case 0: return arg;
      case 1: return typeof arg === "bigint" ? -1n - arg : -1 - arg;
      case 2:
      case 3: {
        if (arg === -1) return chunks(major);
        if (typeof arg !== "number") fail("string too long");
        need(arg);
        const slice = bytes.slice(pos, pos + arg); pos += arg;
        return major === 2 ? slice : new TextDecoder("utf-8", { fatal: true }).decode(slice);
      }
      case 4: {
        const items = [];
        if (arg === -1) {
          for (;;) { need(1); if (bytes[pos] === 0xff) { pos++; break; } items.push(read(depth + 1)); }
        } else {
          for (let i = 0; i < arg; i++) items.push(read(depth + 1));
        }
        return items;
      }
      case 5: {
        const map = new Map();
        const entry = () => { const k = read(depth + 1); map.set(k, read(depth + 1)); };
        if (arg === -1) {
          for (;;) { need(1); if (bytes[pos] === 0xff) { pos++; break; } entry(); }
        } else {
          for (let i = 0; i < arg; i++) entry();
        }
        return map;
      }
      case 6: return new Tagged(arg, read(depth + 1));
      default: return fail("bad major type");
    }
  }
  const value = read(0);
  if (pos !== bytes.length) fail("trailing bytes after the item");
  return value;
}

function halfFloat(h) {
  const exp = (h >> 10) & 0x1f; const mant = h & 0x3ff;
  const sign = h & 0x8000 ? -1 : 1;
  if (exp === 0) return sign * 2 ** -14 * (mant / 1024);
  if (exp === 31) return mant ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + mant / 1024);
}

function cborHead(major, length) {
  if (length < 24) return [(major << 5) | length];
  if (length < 256) return [(major << 5) | 24, length];
  if (length < 65536) return [(major << 5) | 25, length >> 8, length & 0xff];
  return [(major << 5) | 26, (length >>> 24) & 0xff, (length >> 16) & 0xff, (length >> 8) & 0xff, length & 0xff];
}

function concat(parts) {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** The COSE Sig_structure ["Signature1", protected, h'', payload], CBOR-encoded. */
function sigStructure(protectedBytes, payload) {
  const context = new TextEncoder().encode("Signature1");
  return concat([
    new Uint8Array([0x84]),
    new Uint8Array(cborHead(3, context.length)), context,
    new Uint8Array(cborHead(2, protectedBytes.length)), protectedBytes,
    new Uint8Array([0x40]),
    new Uint8Array(cborHead(2, payload.length)), payload,
  ]);
}

// -- helpers -----------------------------------------------------------------------------------

export function b64decode(text) {
  const bin = atob(text);
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

export function b64encode(bytes) {
  return btoa(String.fromCharCode(...bytes));
}

function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** RFC 8785 canonical JSON for the trust list (ASCII keys, integers, booleans, strings). */
export function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export function regionCovers(keyRegion, issuer) {
  if (/^\d{6}$/.test(keyRegion)) {
    if (keyRegion.endsWith("0000")) return issuer.startsWith(keyRegion.slice(0, 2));
    if (keyRegion.endsWith("00")) return issuer.startsWith(keyRegion.slice(0, 4));
  }
  return keyRegion === issuer;
}

function parseInstant(text) {
  return text ? Date.parse(text) / 1000 : null;
}

// -- trust list ----------------------------------------------------------------------------------

export function ed25519Supported() {
  return crypto.subtle.importKey("raw", new Uint8Array(32), { name: "Ed25519" }, false, ["verify"])
    .then(() => true, () => false);
}

/**
 * Verify a signed trust list (the parsed JSON document) with the pinned anchor (raw Ed25519
 * public key, base64). Returns {list, keys, signatureChecked}. Throws on a bad signature.
 */
export async function verifyTrustList(doc, anchorBase64) {
  if (!doc || typeof doc !== "object" || !doc.trust_list || !doc.signature) {
    throw new StageError("trust-list", "not a signed trust list");
  }
  const list = doc.trust_list;
  if (list.type !== "zhikong-trust-list" || list.format !== 1) {
    throw new StageError("trust-list", "unknown type or format");
  }
  let signatureChecked = false;
  if (await ed25519Supported()) {
    if (doc.signature.alg !== "Ed25519") throw new StageError("trust-list", "signature is not Ed25519");
    const key = await crypto.subtle.importKey(
      "raw", b64decode(anchorBase64), { name: "Ed25519" }, false, ["verify"],
    );
    const message = concat([
      new TextEncoder().encode(TRUST_DOMAIN), new Uint8Array([0]),
      new TextEncoder().encode(canonical(list)),
    ]);
    const ok = await crypto.subtle.verify({ name: "Ed25519" }, key, b64decode(doc.signature.value), message);
    if (!ok) throw new StageError("trust-list", "the anchor's signature does not verify");
    signatureChecked = true;
  }
  const keys = [];
  for (const entry of list.keys) {
    const der = b64decode(entry.spki || entry.certificate);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", der));
    if (b64encode(digest.slice(0, 8)) !== entry.kid) {
      throw new StageError("trust-list", `kid ${entry.kid} does not match its key`);
    }
    keys.push(entry);
  }
  return { list, keys, signatureChecked };
}

// -- verification (docs/credential.md §9) ---------------------------------------------------------

/**
 * Verify a scanned text against trusted keys (entries of a verified trust list) at `atSeconds`.
 * Returns an object like the reference verifier's: decoded, signature_valid, key_usage_valid,
 * time_valid, valid, payload, error.
 */
export async function verifyText(rawText, trustKeys, atSeconds, leeway = 0) {
  const result = {
    decoded: false, signature_valid: null, key_usage_valid: null, time_valid: null,
    valid: false, kind: null, issuer: null, kid: null, payload: null, error: null,
  };
  try {
    const text = String(rawText).trim();
    if (text.length > MAX_TEXT) throw new StageError("prefix", `text longer than ${MAX_TEXT}`);
    if (!text.startsWith("ZK1:")) throw new StageError("prefix", "not a zhikong code (ZK1:)");
    const packed = base45Decode(text.slice(4));
    let coseBytes = packed;
    if (hasZlibHeader(packed)) {
      try { coseBytes = await inflate(packed); } catch (error) {
        if (error instanceof StageError) throw error;
        throw new StageError("zlib", "not valid zlib data");
      }
    }
    let cose = cborDecode(coseBytes, "cose");
    if (cose instanceof Tagged && cose.tag === 61) cose = cose.value;
    if (cose instanceof Tagged && cose.tag === 18) cose = cose.value;
    if (!Array.isArray(cose) || cose.length !== 4) throw new StageError("cose", "not a COSE_Sign1 array");
    const [protectedBytes, unprotected, payload, signature] = cose;
    if (!(protectedBytes instanceof Uint8Array) || !(payload instanceof Uint8Array)
        || !(signature instanceof Uint8Array)) {
      throw new StageError("cose", "protected header, payload and signature must be byte strings");
    }
    const header = protectedBytes.length ? cborDecode(protectedBytes, "cose") : new Map();
    const unprot = unprotected instanceof Map ? unprotected : new Map();
    const alg = header.has(1) ? header.get(1) : unprot.get(1);
    const kid = header.has(4) ? header.get(4) : unprot.get(4);
    const claims = cborDecode(payload, "cwt");
    if (!(claims instanceof Map)) throw new StageError("cwt", "claims are not a map");
    const iss = claims.get(1); const iat = claims.get(6); const exp = claims.get(4);
    const zk = claims.get(CLAIM_ZHIKONG);
    if (typeof iss !== "string" || !Number.isInteger(iat) || !Number.isInteger(exp) || !(zk instanceof Map)) {
      throw new StageError("cwt", "missing iss, iat, exp or the zhikong claims");
    }
    if (exp <= iat) throw new StageError("cwt", "exp is not after iat");
    if (zk.get(1) !== 1) throw new StageError("cwt", "unknown format");
    const colour = zk.get(2); const kind = zk.get(6);
    if (!COLOURS.has(colour)) throw new StageError("cwt", "unknown colour");
    if (!KINDS.has(kind)) throw new StageError("cwt", "unknown kind");
    result.decoded = true;
    result.kind = "zhikong";
    result.issuer = iss;
    result.kid = kid instanceof Uint8Array ? b64encode(kid) : null;
    result.payload = {
      iss, iat: new Date(iat * 1000).toISOString(), exp: new Date(exp * 1000).toISOString(),
      colour, masked_name: zk.get(3), profile_id: zk.get(4), profile_version: zk.get(5), kind,
    };
    // signature
    if (alg !== -7) throw new StageError("signature", `unsupported algorithm ${alg}`);
    const candidates = trustKeys.filter((k) => k.kid === result.kid);
    const data = sigStructure(protectedBytes, payload);
    let matched = null;
    for (const entry of candidates) {
      if (!entry.spki) continue;
      const key = await crypto.subtle.importKey(
        "spki", b64decode(entry.spki), { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"],
      );
      if (await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, signature, data)) {
        matched = entry; break;
      }
    }
    result.signature_valid = false;
    if (!matched) {
      throw new StageError("signature", candidates.length ? "does not verify" : "unknown key (kid)");
    }
    if (matched.revoked) throw new StageError("signature", "the signing key is revoked");
    if (!regionCovers(matched.region, iss)) throw new StageError("signature", `key does not cover ${iss}`);
    result.signature_valid = true;
    // key usage
    result.key_usage_valid = matched.uses.includes(kind);
    if (!result.key_usage_valid) throw new StageError("key-usage", `key may not sign ${kind} codes`);
    // time
    result.time_valid = false;
    if (atSeconds + leeway < iat) throw new StageError("time", `not valid before ${result.payload.iat}`);
    if (atSeconds - leeway > exp) throw new StageError("time", `expired at ${result.payload.exp}`);
    const notBefore = parseInstant(matched.not_before); const notAfter = parseInstant(matched.not_after);
    if (notBefore !== null && iat < notBefore) throw new StageError("time", "issued before the key's validity");
    if (notAfter !== null && exp > notAfter) throw new StageError("time", "outlives the key's validity");
    const retired = parseInstant(matched.retired_at);
    if (retired !== null && iat > retired) throw new StageError("time", "issued after the key was retired");
    result.time_valid = true;
    result.valid = true;
  } catch (error) {
    result.error = error instanceof StageError ? error.message : `decode: ${error.message}`;
    if (!(error instanceof StageError)) result.decoded = false;
  }
  return result;
}

export { equalBytes };
