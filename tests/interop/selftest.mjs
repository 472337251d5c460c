#!/usr/bin/env node
/*
 * Self-test for verify.mjs, fully offline.
 *
 * Builds its own fixtures with the pinned Digital Bazaar libraries (a fresh
 * Ed25519 Multikey, credentials issued with vc.issue(), a signed
 * BitstringStatusListCredential of 131,072 entries), runs verify.mjs as a
 * subprocess exactly as the Python suite does, and checks every verdict.
 * Also replays the 1EdTech eddsa-rdfc-2022 test vector (valid, tampered,
 * undefined property added).
 *
 * `--verbose` prints each verify.mjs result (stderr); `--dump-input FILE`
 * writes the generated verify.mjs input (an example of the format) to FILE.
 * Exit 0 and a one-line summary when every expectation holds; exit 1 and the
 * failed expectations otherwise.
 */
import {spawnSync} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import {readFileSync, writeFileSync} from 'node:fs';
import {fileURLToPath} from 'node:url';

import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022CryptoSuite} from
  '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import {createList, createCredential} from
  '@digitalbazaar/vc-bitstring-status-list';

import {createDocumentLoader, loadBundledContexts} from './verify.mjs';

const VERIFY = fileURLToPath(new URL('./verify.mjs', import.meta.url));
const VECTOR_DIR = new URL(
  '../data/credential-contexts/examples/test-vector-eddsa-rdfc-2022/',
  import.meta.url);
const VC_V2 = 'https://www.w3.org/ns/credentials/v2';
const OB_303 = 'https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json';
const LIST_LENGTH = 131072;

const readJson = name => JSON.parse(readFileSync(new URL(name, VECTOR_DIR)));
const clone = x => structuredClone(x);
const iso = ms => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function runVerify(input) {
  const proc = spawnSync(process.execPath, [VERIFY], {
    input: typeof input === 'string' ? input : JSON.stringify(input),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return {
    status: proc.status,
    stderr: proc.stderr,
    output: proc.status === 0 ? JSON.parse(proc.stdout) : null,
  };
}

// ----------------------------------------------------------------- issuers

async function makeIssuer({did, fragment, relative = false}) {
  // did:key when `did` is not given; otherwise (did:web) the DID document
  // is built here and handed to verify.mjs through `documents`.
  // The key id must be known when the key pair is made (signer() captures
  // it), so derive the public key from a seed first.
  const seed = randomBytes(32);
  const {publicKeyMultibase} = await Ed25519Multikey.generate({seed});
  const id = did ?? `did:key:${publicKeyMultibase}`;
  const keyPair = await Ed25519Multikey.generate(
    {seed, controller: id, id: `${id}#${fragment ?? publicKeyMultibase}`});
  // `relative`: the DID document uses relative DID URLs ("#key-1").
  const ref = relative ? `#${fragment}` : keyPair.id;
  const publicMethod = await keyPair.export({publicKey: true});
  const didDocument = did ? {
    '@context': ['https://www.w3.org/ns/did/v1',
      'https://w3id.org/security/multikey/v1'],
    id,
    verificationMethod: [{
      id: ref,
      type: 'Multikey',
      controller: id,
      publicKeyMultibase: publicMethod.publicKeyMultibase,
    }],
    assertionMethod: [ref],
  } : null;
  return {id, keyPair, didDocument};
}

function badge({issuer, id, name = 'Interop Badge', extra = {}}) {
  return {
    '@context': [VC_V2, OB_303],
    id,
    type: ['VerifiableCredential', 'OpenBadgeCredential'],
    issuer: {id: issuer.id, type: ['Profile'], name: 'Interop University'},
    validFrom: '2024-01-01T00:00:00Z',
    name,
    credentialSubject: {
      id: 'did:example:learner-1',
      type: ['AchievementSubject'],
      achievement: {
        id: 'https://example.test/achievements/interop',
        type: ['Achievement'],
        name,
        description: 'Verifies across implementations.',
        criteria: {narrative: 'Pass the interop self-test.'},
      },
    },
    ...extra,
  };
}

async function sign({credential, issuer, documentLoader}) {
  const suite = new DataIntegrityProof({
    signer: issuer.keyPair.signer(), cryptosuite: eddsaRdfc2022CryptoSuite,
  });
  return vc.issue({credential, suite, documentLoader});
}

// ------------------------------------------------------------------- main

async function main() {
  const contexts = loadBundledContexts();
  const keyIssuer = await makeIssuer({});
  const webIssuer = await makeIssuer({did: 'did:web:issuer.example.test'});
  const relIssuer = await makeIssuer(
    {did: 'did:web:rel.example.test', fragment: 'key-1', relative: true});
  const documents = {
    [webIssuer.id]: webIssuer.didDocument,
    [relIssuer.id]: relIssuer.didDocument,
  };
  // Loader for signing only (needs the did:web document for the proof's
  // controller check when issuing).
  const signLoader = createDocumentLoader({contexts, documents});

  // Status lists: revocation and suspension, 131,072 entries each.
  const revokedIndex = 94567;
  const unsetIndex = 1234;
  const suspendedIndex = 131071; // last bit
  const revList = await createList({length: LIST_LENGTH});
  revList.setStatus(revokedIndex, true);
  const susList = await createList({length: LIST_LENGTH});
  susList.setStatus(suspendedIndex, true);
  const revUrl = 'https://issuer.example.test/status/revocation/1';
  const susUrl = 'https://issuer.example.test/status/suspension/1';
  const listCredential = async ({id, list, statusPurpose}) => {
    const unsigned = await createCredential({id, list, statusPurpose});
    unsigned.issuer = keyIssuer.id;
    unsigned.validFrom = '2024-01-01T00:00:00Z';
    return sign({credential: unsigned, issuer: keyIssuer,
      documentLoader: signLoader});
  };
  documents[revUrl] = await listCredential(
    {id: revUrl, list: revList, statusPurpose: 'revocation'});
  documents[susUrl] = await listCredential(
    {id: susUrl, list: susList, statusPurpose: 'suspension'});

  // Forged list: the signed revocation list with its bits cleared after
  // signing ("un-revoking"), served under its own URL.
  const forgedUrl = 'https://issuer.example.test/status/revocation/forged';
  const forgedList = await listCredential(
    {id: forgedUrl, list: revList, statusPurpose: 'revocation'});
  forgedList.credentialSubject.encodedList =
    await (await createList({length: LIST_LENGTH})).encode();
  documents[forgedUrl] = forgedList;

  const entry = (url, purpose, index) => ({credentialStatus: {
    id: `${url}#${index}`,
    type: 'BitstringStatusListEntry',
    statusPurpose: purpose,
    statusListIndex: String(index),
    statusListCredential: url,
  }});
  const issueBadge = async (issuer, id, extra) => sign({
    credential: badge({issuer, id, extra}), issuer,
    documentLoader: signLoader});

  const now = Date.now();
  const day = 86400 * 1000;
  const c = {
    statusUnset: await issueBadge(keyIssuer, 'urn:uuid:status-unset',
      entry(revUrl, 'revocation', unsetIndex)),
    statusRevoked: await issueBadge(keyIssuer, 'urn:uuid:status-revoked',
      entry(revUrl, 'revocation', revokedIndex)),
    statusSuspended: await issueBadge(keyIssuer, 'urn:uuid:status-suspended',
      entry(susUrl, 'suspension', suspendedIndex)),
    didWeb: await issueBadge(webIssuer, 'urn:uuid:did-web'),
    didWebRelative: await issueBadge(relIssuer, 'urn:uuid:did-web-rel'),
    expired: await issueBadge(keyIssuer, 'urn:uuid:expired',
      {validFrom: iso(now - 30 * day), validUntil: iso(now - day)}),
    notYetValid: await issueBadge(keyIssuer, 'urn:uuid:not-yet-valid',
      {validFrom: iso(now + day)}),
    stillValid: await issueBadge(keyIssuer, 'urn:uuid:still-valid',
      {validFrom: iso(now - day), validUntil: iso(now + 30 * day)}),
  };
  c.statusForgedList = await issueBadge(keyIssuer, 'urn:uuid:forged-list',
    entry(forgedUrl, 'revocation', revokedIndex));
  // A status entry pointing at a list nobody supplied.
  c.statusMissingList = await issueBadge(keyIssuer, 'urn:uuid:missing-list',
    entry('https://elsewhere.example.test/status/9', 'revocation', 7));
  // Credential whose @context is not bundled: must be refused, not fetched.
  const unknownContext = clone(c.didWeb);
  unknownContext['@context'] = [...unknownContext['@context'],
    'https://example.test/contexts/not-bundled.jsonld'];
  // Contexts jsonld-signatures would serve from its own embedded copy
  // (security v1/v2) must be refused too: in a credential...
  const secV2 = 'https://w3id.org/security/v2';
  const libContext = await sign({credential: badge({issuer: keyIssuer,
    id: 'urn:uuid:security-v2-context',
    extra: {'@context': [VC_V2, OB_303, secV2]}}),
  issuer: keyIssuer, documentLoader: signLoader});
  // ...and in a supplied DID document.
  const secIssuer = await makeIssuer({did: 'did:web:sec.example.test'});
  secIssuer.didDocument['@context'].push(secV2);
  documents[secIssuer.id] = secIssuer.didDocument;
  const libContextDid = await sign({credential: badge(
    {issuer: secIssuer, id: 'urn:uuid:security-v2-did'}), issuer: secIssuer,
  documentLoader: signLoader});
  // did:web credential whose key is not in the supplied DID document.
  const otherKey = await makeIssuer({did: webIssuer.id});
  const wrongKey = await sign({credential: badge(
    {issuer: webIssuer, id: 'urn:uuid:wrong-key'}), issuer: otherKey,
  documentLoader: createDocumentLoader({contexts,
    documents: {[webIssuer.id]: otherKey.didDocument}})});

  // 1EdTech OB 3.0 test vector.
  const vector = readJson('signed-credential.json');
  const controller = readJson('issuer-controller-document.json');
  documents[controller.id] = controller;
  const tampered = clone(vector);
  tampered.name = 'Tampered Badge';
  const graded = clone(vector);
  graded.credentialSubject.grade = 'A+';

  const credentials = [
    ['vector', vector], ['vector-tampered', tampered],
    ['vector-grade', graded],
    ...Object.entries(c),
    ['unknown-context', unknownContext], ['wrong-key', wrongKey],
    ['security-v2-context', libContext],
    ['security-v2-did-document', libContextDid],
  ].map(([name, credential]) => ({name, credential}));

  const failures = [];
  const expect = (cond, what) => {
    if(!cond) {
      failures.push(what);
    }
  };

  // -- run 1: everything, status checked.
  const input = {documents, credentials, repeat: 1, checkStatus: true};
  const dumpAt = process.argv.indexOf('--dump-input');
  if(dumpAt !== -1 && process.argv[dumpAt + 1]) {
    writeFileSync(process.argv[dumpAt + 1], JSON.stringify(input, null, 2));
  }
  const run = runVerify(input);
  expect(run.status === 0, `verify.mjs exit ${run.status}: ${run.stderr}`);
  if(process.argv.includes('--verbose')) {
    for(const r of run.output?.results ?? []) {
      console.error(JSON.stringify(r));
    }
  }
  const byName = Object.fromEntries(
    (run.output?.results ?? []).map(r => [r.name, r]));
  const has = (name, re) => (byName[name]?.errors ?? []).some(e => re.test(e));
  const check = (name, verified, extra = () => true, note = '') => {
    const r = byName[name];
    expect(r && r.verified === verified && extra(r),
      `${name}: expected verified=${verified}${note ? ` (${note})` : ''}, ` +
      `got ${JSON.stringify(r)}`);
  };
  check('vector', true, r => r.statusOk === null && r.errors.length === 0);
  check('vector-tampered', false, () => has('vector-tampered', /signature/i),
    'invalid signature');
  check('vector-grade', false, () => has('vector-grade', /Dropping property/),
    'safe mode drops "grade"');
  check('statusUnset', true, r => r.statusOk === true && r.proofVerified &&
    r.statuses.length === 1 && r.statuses[0].set === false &&
    r.statuses[0].listLength >= LIST_LENGTH);
  check('statusRevoked', false, r => r.proofVerified === true &&
    r.statusOk === false && has('statusRevoked', /revoked/),
    'proof ok, "revoked" error');
  check('statusSuspended', false, r => r.proofVerified === true &&
    r.statusOk === false && has('statusSuspended', /suspended/),
    'proof ok, "suspended" error');
  check('statusForgedList', false, r => r.statusOk === false &&
    has('statusForgedList', /StatusListCredential" not verified/) &&
    has('statusForgedList', /Invalid signature/),
    'status list altered after signing');
  check('statusMissingList', false, r => r.statusOk === false &&
    has('statusMissingList', /not found offline/), 'list not supplied');
  check('didWeb', true);
  check('didWebRelative', true, r => r.errors.length === 0,
    'DID document with relative "#key-1" ids');
  check('expired', false, () => has('expired', /validUntil/),
    'vc rejects past validUntil');
  check('notYetValid', false, () => has('notYetValid', /validFrom/),
    'vc rejects future validFrom');
  check('stillValid', true);
  check('unknown-context', false,
    () => has('unknown-context', /not found offline: https:\/\/example\.test/),
    'unbundled context refused');
  check('security-v2-context', false, r => r.proofVerified === true &&
    has('security-v2-context', /not found offline: https:\/\/w3id\.org\/security\/v2/),
  'library alone accepts it; extra bundle check refuses');
  check('security-v2-did-document', false, () =>
    has('security-v2-did-document', /not found offline: https:\/\/w3id\.org\/security\/v2/),
  'DID document with an unbundled context');
  check('wrong-key', false, () => has('wrong-key', /not found offline/),
    'verification method absent from DID document');

  // -- run 2: checkStatus false -> status not consulted, statusOk null.
  const run2 = runVerify({documents, checkStatus: false, credentials: [
    {name: 'statusRevoked', credential: c.statusRevoked}]});
  const r2 = run2.output?.results?.[0];
  expect(run2.status === 0 && r2?.verified === true && r2?.statusOk === null,
    `checkStatus=false: expected verified with statusOk null, got ` +
    JSON.stringify(r2 ?? run2.stderr));

  // -- run 2b: `now` moves the validity window check.
  const run2b = runVerify({documents, now: '2009-06-01T00:00:00Z',
    credentials: [{name: 'vector', credential: vector},
      {name: 'expired', credential: c.expired}]});
  const [v2b, e2b] = run2b.output?.results ?? [];
  expect(run2b.status === 0 && v2b?.verified === false &&
    v2b.errors.some(e => /before "validFrom"/.test(e)),
  `now=2009: expected the vector not yet valid, got ${JSON.stringify(v2b)}`);
  expect(e2b?.verified === false, `now=2009: expected expired credential ` +
    `(validFrom a month ago) not yet valid, got ${JSON.stringify(e2b)}`);

  // -- run 3: repeat reports only the last round, rate is reported.
  const run3 = runVerify({documents, repeat: 3, credentials: [
    {name: 'vector', credential: vector}]});
  expect(run3.status === 0 && run3.output.results.length === 1 &&
    run3.output.results[0].verified === true &&
    run3.output.verificationsPerSecond > 0,
  `repeat=3: got ${JSON.stringify(run3.output ?? run3.stderr)}`);

  // -- run 4: bad input -> non-zero exit with a message on stderr.
  for(const bad of ['not json', '{"credentials": 5}',
    JSON.stringify({credentials: [], repeat: 0}),
    JSON.stringify({credentials: [], documents: {[VC_V2]: {}}})]) {
    const r = runVerify(bad);
    expect(r.status !== 0 && /bad input/.test(r.stderr),
      `bad input ${bad}: expected non-zero exit, got ${r.status}`);
  }

  const total = Object.keys(byName).length;
  if(failures.length) {
    for(const f of failures) {
      console.error(`FAIL ${f}`);
    }
    console.log(`interop selftest: ${failures.length} failed ` +
      `(${total} credentials checked)`);
    process.exitCode = 1;
    return;
  }
  console.log(`interop selftest: ok: ${total} credentials (test vector ` +
    `valid/tampered/undefined-term, status list of ${LIST_LENGTH} entries ` +
    `unset/revoked/suspended/forged/missing, did:key + did:web (absolute and relative ids), validFrom/validUntil, ` +
    `offline refusals) and 4 option/input runs as expected`);
}

main().catch(e => {
  console.error(`interop selftest: crashed: ${e && e.stack || e}`);
  process.exitCode = 1;
});
