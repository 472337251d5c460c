#!/usr/bin/env node
/*
 * Independent, offline interop verifier for microcred credentials.
 *
 * Verifies W3C VC 2.0 / Open Badges 3.0 credentials carrying an
 * `eddsa-rdfc-2022` DataIntegrityProof with Digital Bazaar's libraries
 * (pinned in package.json), using a document loader that serves only:
 *   - the JSON-LD contexts bundled with microcred
 *     (src/microcred/kit/jsonld/contexts/, exact bytes, listed in index.json);
 *   - `did:key` DIDs / verification methods (computed locally by
 *     @digitalbazaar/did-method-key with the Ed25519 Multikey handler);
 *   - documents handed in on stdin (`documents` map: did:web DID documents,
 *     https controller documents, BitstringStatusListCredentials).
 * Anything else throws "not found offline: URL". Nothing is fetched.
 *
 * stdin:  {"documents": {url_or_did: json}, "credentials": [{"name", "credential"}],
 *          "repeat": 1, "checkStatus": true, "now": optional ISO date-time}
 * stdout: {"results": [{"name", "verified", "proofVerified", "statusOk",
 *          "statuses", "errors"}], "verifySeconds", "verificationsPerSecond"}
 * Exit 0 whenever it ran (whatever the verdicts); 2 with a message on stderr
 * for bad input. See README.md.
 */
import {readFileSync, realpathSync} from 'node:fs';
import {performance} from 'node:perf_hooks';
import {fileURLToPath} from 'node:url';

import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022CryptoSuite} from
  '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import * as DidKey from '@digitalbazaar/did-method-key';
import {checkStatus as bitstringCheckStatus, decodeList} from
  '@digitalbazaar/vc-bitstring-status-list';

const CONTEXTS_DIR = new URL(
  '../../src/microcred/kit/jsonld/contexts/', import.meta.url);

// Status purposes whose set bit makes the credential invalid.
const INVALIDATING_PURPOSES = new Map([
  ['revocation', 'revoked'],
  ['suspension', 'suspended'],
]);

class InputError extends Error {}

// ---------------------------------------------------------------- contexts

export function loadBundledContexts(dir = CONTEXTS_DIR) {
  const index = JSON.parse(readFileSync(new URL('index.json', dir), 'utf8'));
  if(!index || typeof index.contexts !== 'object') {
    throw new Error('contexts index.json has no "contexts" map');
  }
  const contexts = new Map();
  for(const [url, filename] of Object.entries(index.contexts)) {
    if(filename.includes('/') || filename.includes('\\')) {
      throw new Error(`contexts index.json: bad file name "${filename}"`);
    }
    contexts.set(url, JSON.parse(readFileSync(new URL(filename, dir), 'utf8')));
  }
  return contexts;
}

// ---------------------------------------------------------- document loader

function splitFragment(url) {
  const i = url.indexOf('#');
  return i === -1 ? [url, null] : [url.slice(0, i), url.slice(i + 1)];
}

function absoluteId(id, base) {
  if(typeof id !== 'string') {
    return id;
  }
  return id.startsWith('#') ? base + id : id;
}

const RELATIONSHIPS = ['assertionMethod', 'authentication',
  'capabilityInvocation', 'capabilityDelegation', 'keyAgreement'];

// All verification-method objects a controller / DID document holds, whether
// listed under `verificationMethod` or embedded in a relationship.
function* verificationMethodsOf(doc) {
  for(const key of ['verificationMethod', ...RELATIONSHIPS]) {
    const values = doc[key] === undefined ? [] : [].concat(doc[key]);
    for(const vm of values) {
      if(vm && typeof vm === 'object') {
        yield vm;
      }
    }
  }
}

// DID Core allows relative DID URLs ("#key-1") for verification methods and
// relationship references; jsonld-signatures compares ids as strings and
// skips JSON-LD processing for DID documents, so resolve them against the
// document id here.
function absolutizeRefs(doc) {
  const base = typeof doc.id === 'string' ? doc.id : null;
  if(!base) {
    return doc;
  }
  const fixMethod = vm => {
    if(vm && typeof vm === 'object') {
      for(const prop of ['id', 'controller']) {
        if(typeof vm[prop] === 'string') {
          vm[prop] = absoluteId(vm[prop], base);
        }
      }
      return vm;
    }
    return absoluteId(vm, base);
  };
  for(const key of ['verificationMethod', ...RELATIONSHIPS]) {
    if(Array.isArray(doc[key])) {
      doc[key] = doc[key].map(fixMethod);
    } else if(doc[key] !== undefined) {
      doc[key] = fixMethod(doc[key]);
    }
  }
  return doc;
}

// Context URLs a JSON document references (under "@context" or "@import",
// at any depth) that are not in the bundle. jsonld-signatures wraps every
// document loader with its own copies of https://w3id.org/security/v1 and
// /v2 (extendContextLoader), so those would be served without ever reaching
// our loader; checking the documents themselves closes that gap.
export function unbundledContexts(doc, contexts, found = new Set()) {
  const visit = (value, underContext) => {
    if(typeof value === 'string') {
      if(underContext && !contexts.has(value)) {
        found.add(value);
      }
    } else if(Array.isArray(value)) {
      for(const v of value) {
        visit(v, underContext);
      }
    } else if(value && typeof value === 'object') {
      for(const [k, v] of Object.entries(value)) {
        visit(v, k === '@context' || k === '@import');
      }
    }
  };
  visit(doc, false);
  return [...found];
}

export function createDocumentLoader({contexts, documents = {}}) {
  const didKeyDriver = DidKey.driver();
  // did:key:z6Mk... (Ed25519) -> Multikey verification methods.
  didKeyDriver.use({
    multibaseMultikeyHeader: 'z6Mk',
    fromMultibase: Ed25519Multikey.from,
  });
  const docs = new Map(Object.entries(documents));

  const answer = (url, document) =>
    ({contextUrl: null, documentUrl: url, document});

  return async function documentLoader(url) {
    if(typeof url !== 'string') {
      throw new Error(`not found offline: ${String(url)}`);
    }
    // 1. bundled contexts, exact bytes, nothing else for context URLs.
    if(contexts.has(url)) {
      return answer(url, contexts.get(url));
    }
    // 2. did:key, resolved locally.
    if(url.startsWith('did:key:')) {
      const document = await didKeyDriver.get({url});
      return answer(url, document);
    }
    // 3. caller-supplied documents (did:web, https controllers, status lists).
    const supplied = key => {
      const doc = docs.get(key);
      const refused = unbundledContexts(doc, contexts);
      if(refused.length) {
        throw new Error(`not found offline: ${refused.join(', ')} ` +
          `(context not bundled; referenced by "${key}")`);
      }
      return doc;
    };
    if(docs.has(url)) {
      return answer(url, absolutizeRefs(structuredClone(supplied(url))));
    }
    const [base, fragment] = splitFragment(url);
    if(fragment !== null && docs.has(base)) {
      const controllerDoc = supplied(base);
      for(const vm of verificationMethodsOf(controllerDoc)) {
        if(absoluteId(vm.id, base) === url) {
          // Answer like did-method-key does for a key id: the method node
          // itself, with the controller document's @context (unless the
          // method carries its own), id made absolute.
          const method = structuredClone(vm);
          const document = {
            '@context': method['@context'] ??
              structuredClone(controllerDoc['@context']),
            ...method,
            id: url,
          };
          if(typeof document.controller === 'string') {
            document.controller = absoluteId(document.controller, base);
          }
          return answer(url, document);
        }
      }
      throw new Error(
        `not found offline: ${url} (no verification method "#${fragment}" ` +
        `in supplied document "${base}")`);
    }
    throw new Error(`not found offline: ${url}`);
  };
}

// ----------------------------------------------------------- error digests

// Flattens the error tree that vc / jsonld-signatures / jsonld / the status
// library produce into short, de-duplicated strings.
function collectErrors(err, out, seen = new Set(), depth = 0) {
  if(!err || depth > 8 || seen.has(err)) {
    return;
  }
  if(typeof err !== 'object') {
    out.push(String(err));
    return;
  }
  seen.add(err);
  const nested = Array.isArray(err.errors) ? err.errors : [];
  // VerificationError is only a wrapper ("Verification error(s).").
  if(!(err.name === 'VerificationError' && nested.length)) {
    let msg = err.message ? String(err.message) : '';
    if(msg.length > 200) {
      // jsonld's messages can run to a paragraph; keep the first sentence.
      const end = msg.indexOf('. ');
      if(end > 0) {
        msg = msg.slice(0, end + 1);
      }
    }
    const name = err.name && err.name !== 'Error' ? err.name : '';
    const event = err.details?.event;
    if(event) {
      // jsonld safe mode: {code, message, details: {property, ...}}
      const d = event.details || {};
      const what = d.property ?? d.type ?? d.iri ?? d.value ??
        d.expandedProperty ?? undefined;
      msg += ` ${event.message || event.code}` +
        (what !== undefined ? ` (${JSON.stringify(what)})` : '');
    }
    if(!event && err.details?.url && !msg.includes(err.details.url)) {
      msg += ` (${err.details.url})`;
    }
    msg = msg.trim();
    const line = (name ? `${name}: ` : '') + msg;
    // skip a cause whose message its wrapper already quotes
    if(msg && !out.some(o => o.includes(msg))) {
      out.push(line);
    }
  }
  for(const e of nested) {
    collectErrors(e, out, seen, depth + 1);
  }
  if(err.cause) {
    collectErrors(err.cause, out, seen, depth + 1);
  }
  if(err.details?.cause) {
    // jsonld wraps document-loader failures (e.g. "not found offline").
    collectErrors(err.details.cause, out, seen, depth + 1);
  }
}

function resultErrors(result) {
  const out = [];
  const seen = new Set();
  collectErrors(result.error, out, seen);
  for(const r of result.results || []) {
    collectErrors(r.error, out, seen);
    collectErrors(r.purposeResult?.error, out, seen);
  }
  if(result.statusResult) {
    collectErrors(result.statusResult.error, out, seen);
    for(const r of result.statusResult.results || []) {
      collectErrors(r.error, out, seen);
    }
  }
  return out;
}

// ------------------------------------------------------------- verification

const MIN_LIST_ENTRIES = 131072;

async function listLength(documentLoader, url) {
  try {
    const {document} = await documentLoader(url);
    const list = await decodeList(
      {encodedList: document.credentialSubject.encodedList});
    return list.length;
  } catch{
    return null;
  }
}

async function verifyOne({
  name, credential, documentLoader, contexts, checkStatus, now
}) {
  const suite = new DataIntegrityProof({cryptosuite: eddsaRdfc2022CryptoSuite});
  const hasStatus = credential && typeof credential === 'object' &&
    credential.credentialStatus !== undefined;
  let statusChecked = false;
  const options = {credential, suite, documentLoader};
  if(now !== undefined) {
    options.now = now;
  }
  if(hasStatus) {
    if(checkStatus) {
      options.checkStatus = async opts => {
        statusChecked = true;
        return bitstringCheckStatus(opts);
      };
    } else {
      // vc requires a checkStatus function whenever credentialStatus is
      // present; status checking was switched off by the caller.
      options.checkStatus = async () => ({verified: true, skipped: true});
    }
  }

  const result = await vc.verifyCredential(options);
  const proofVerified = result.verified === true;
  const errors = resultErrors(result);
  // Extra check (see unbundledContexts): contexts outside the bundle are
  // refused even where the library would have served its own copy.
  const refused = unbundledContexts(credential, contexts);
  for(const url of refused) {
    const msg = `not found offline: ${url}`;
    if(!errors.some(e => e.includes(msg))) {
      errors.push(`${msg} (context not bundled)`);
    }
  }

  // Trap 6: the library leaves `verified: true` for a credential whose
  // status bit is set and only reports it in statusResult.results[].status.
  // Fold the status into our verdict.
  let statusOk = null;
  const statuses = [];
  let statusInvalidates = false;
  if(hasStatus && checkStatus && statusChecked) {
    const sr = result.statusResult;
    statusOk = !!(sr && sr.verified === true);
    for(const r of sr?.results || []) {
      const cs = r.credentialStatus || {};
      const entry = {
        statusPurpose: cs.statusPurpose ?? null,
        statusListIndex: cs.statusListIndex ?? null,
        statusListCredential: cs.statusListCredential ?? null,
        set: r.status === true,
        // 1EdTech requires >= 131,072 entries; the library does not check
        // it, so this wrapper does (extra check, like the context rule).
        listLength: await listLength(documentLoader, cs.statusListCredential),
      };
      statuses.push(entry);
      if(entry.listLength !== null && entry.listLength < MIN_LIST_ENTRIES) {
        statusOk = false;
        statusInvalidates = true;
        errors.push(
          `status list too short: ${entry.listLength} entries, ` +
          `at least ${MIN_LIST_ENTRIES} required`);
      }
      if(entry.set && INVALIDATING_PURPOSES.has(entry.statusPurpose)) {
        statusOk = false;
        statusInvalidates = true;
        errors.push(
          `credential ${INVALIDATING_PURPOSES.get(entry.statusPurpose)}: ` +
          `${entry.statusPurpose} bit set at statusListIndex ` +
          `${entry.statusListIndex} of ${entry.statusListCredential}`);
      }
    }
    if(sr && sr.verified !== true && errors.length === 0) {
      errors.push('status check failed');
    }
  }
  const verified = proofVerified && !statusInvalidates &&
    statusOk !== false && refused.length === 0;
  if(!verified && errors.length === 0) {
    errors.push('not verified (no error reported by the library)');
  }
  return {name, verified, proofVerified, statusOk, statuses, errors};
}

// -------------------------------------------------------------------- main

function parseInput(text) {
  let input;
  try {
    input = JSON.parse(text);
  } catch(e) {
    throw new InputError(`stdin is not valid JSON: ${e.message}`);
  }
  if(!input || typeof input !== 'object' || Array.isArray(input)) {
    throw new InputError('input must be a JSON object');
  }
  const {documents = {}, credentials, repeat = 1, checkStatus = true, now} =
    input;
  if(!documents || typeof documents !== 'object' || Array.isArray(documents)) {
    throw new InputError('"documents" must be an object {url_or_did: json}');
  }
  for(const [url, doc] of Object.entries(documents)) {
    if(!doc || typeof doc !== 'object') {
      throw new InputError(`documents["${url}"] must be a JSON object`);
    }
  }
  if(!Array.isArray(credentials)) {
    throw new InputError('"credentials" must be an array');
  }
  credentials.forEach((c, i) => {
    if(!c || typeof c !== 'object' || typeof c.name !== 'string' ||
      !c.credential || typeof c.credential !== 'object' ||
      Array.isArray(c.credential)) {
      throw new InputError(
        `credentials[${i}] must be {"name": string, "credential": object}`);
    }
  });
  if(!Number.isInteger(repeat) || repeat < 1) {
    throw new InputError('"repeat" must be an integer >= 1');
  }
  if(typeof checkStatus !== 'boolean') {
    throw new InputError('"checkStatus" must be a boolean');
  }
  if(now !== undefined &&
    (typeof now !== 'string' || Number.isNaN(Date.parse(now)))) {
    throw new InputError('"now" must be an ISO 8601 date-time string');
  }
  return {documents, credentials, repeat, checkStatus, now};
}

async function main() {
  const text = readFileSync(0, 'utf8');
  const {documents, credentials, repeat, checkStatus, now} = parseInput(text);
  const contexts = loadBundledContexts();
  for(const url of Object.keys(documents)) {
    if(contexts.has(url)) {
      throw new InputError(
        `documents["${url}"]: contexts come only from the bundle`);
    }
  }
  const documentLoader = createDocumentLoader({contexts, documents});

  let results = [];
  const start = performance.now();
  for(let round = 0; round < repeat; ++round) {
    results = [];
    for(const {name, credential} of credentials) {
      results.push(await verifyOne(
        {name, credential, documentLoader, contexts, checkStatus, now}));
    }
  }
  const verifySeconds = (performance.now() - start) / 1000;
  const count = credentials.length * repeat;
  process.stdout.write(JSON.stringify({
    results,
    verifySeconds,
    verificationsPerSecond: verifySeconds > 0 ? count / verifySeconds : null,
  }) + '\n');
}

function isMain() {
  try {
    return !!process.argv[1] && realpathSync(process.argv[1]) ===
      realpathSync(fileURLToPath(import.meta.url));
  } catch{
    return false;
  }
}

if(isMain()) {
  main().catch(e => {
    if(e instanceof InputError) {
      process.stderr.write(`verify.mjs: bad input: ${e.message}\n`);
    } else {
      process.stderr.write(`verify.mjs: failed: ${e && e.stack || e}\n`);
    }
    process.exitCode = 2;
  });
}
