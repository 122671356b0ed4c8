// Checks a WACZ anonymous signature the way ReplayWeb.page does (wabac.js, src/wacz/certutils.ts):
// WebCrypto, ECDSA P-384 public key as SPKI, SHA-256, signature as r||s over the text of `hash`.
// Usage: node webcrypto_verify.mjs datapackage-digest.json   (exit 0: valid, 1: invalid)
import { readFileSync } from "node:fs";

const { hash, signature, publicKey } = JSON.parse(readFileSync(process.argv[2], "utf8")).signedData;
const key = await crypto.subtle.importKey("spki", Buffer.from(publicKey, "base64"),
  { name: "ECDSA", namedCurve: "P-384" }, true, ["verify"]);
const valid = await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key,
  Buffer.from(signature, "base64"), new TextEncoder().encode(hash));
console.log(valid ? "signature valid" : "signature invalid");
process.exit(valid ? 0 : 1);
