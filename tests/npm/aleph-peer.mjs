// Independent peers for the Aleph tests: ethers (v5 and v6) and Aleph's TypeScript SDK.
//   node aleph-peer.mjs keccak FILE...                 → keccak256 of each file (ethers)
//   node aleph-peer.mjs personal-verify FILE SIG ADDR  → exit 0 iff ethers recovers ADDR
//   node aleph-peer.mjs crn-auth PUBKEY_HDR OP_HDR METHOD PATH DOMAIN → checks both headers
//   node aleph-peer.mjs verify MESSAGE.json...         → our messages checked by ethers + SDK
//   node aleph-peer.mjs sdk-sign OUTDIR KEYHEX         → messages built and signed by the SDK
//   node aleph-peer.mjs snp-inject KEYHEX PKHEX SECRETS.json BODY → exit 0 iff BODY is the SEV-SNP
//                                                        injection ethers makes from the inputs
//   node aleph-peer.mjs keystores OUTDIR PASSWORD      → V3 keystores of one random key: ethers v5
//                                                        and v6 Wallet.encrypt (scrypt), a pbkdf2
//                                                        one that ethers v6 decryptJsonSync opens;
//                                                        prints the address
import fs from 'node:fs'
import path from 'node:path'
import crypto from 'node:crypto'
import { ethers as ethers5 } from 'ethers'
import * as ethers6 from 'ethers6'
import { importAccountFromPrivateKey } from '@aleph-sdk/ethereum'
import { verifyEthereum } from '@aleph-sdk/evm'
import {
  HashedMessage, SignedMessage, InstanceMessageClient, StoreMessageClient, ForgetMessageClient,
  buildMessage, prepareAlephMessage, ItemType, MessageType
} from '@aleph-sdk/message'

const [cmd, ...args] = process.argv.slice(2)
let failed = 0
const fail = (msg) => { console.error('FAIL: ' + msg); failed++ }

if (cmd === 'keccak') {
  for (const f of args) console.log(ethers6.keccak256(fs.readFileSync(f)).slice(2))
} else if (cmd === 'personal-verify') {
  const [file, sig, addr] = args
  const data = fs.readFileSync(file)
  const r5 = ethers5.utils.verifyMessage(data, sig)
  const r6 = ethers6.verifyMessage(data, sig)
  if (r5 !== addr || r6 !== addr) fail(`recovered ${r5} / ${r6}, expected ${addr}`)
} else if (cmd === 'crn-auth') {
  const [pkHeader, opHeader, method, reqPath, domain] = args
  const pk = JSON.parse(pkHeader)
  const payload = Buffer.from(pk.payload, 'hex')
  const p = JSON.parse(payload.toString('utf8'))
  if (ethers6.verifyMessage(payload, pk.signature) !== p.address) fail('X-SignedPubKey signature does not recover the address')
  if (p.domain !== domain || pk.content.domain !== domain) fail('pubkey domain')
  if (!(new Date(p.expires) > new Date())) fail('pubkey already expired')
  const op = JSON.parse(opHeader)
  const opPayload = Buffer.from(op.payload, 'hex')
  const o = JSON.parse(opPayload.toString('utf8'))
  if (o.method !== method || o.path !== reqPath || o.domain !== domain) fail('operation fields')
  if (Math.abs(new Date(o.time) - new Date()) > 120000) fail('operation time is off by more than 2 min')
  // ES256 raw r||s verified by WebCrypto with the JWK of the payload
  const key = await crypto.webcrypto.subtle.importKey('jwk', { ...p.pubkey, ext: true }, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify'])
  const ok = await crypto.webcrypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, Buffer.from(op.signature, 'hex'), opPayload)
  if (!ok) fail('ES256 operation signature rejected by WebCrypto')
} else if (cmd === 'crn-sign') {
  // X-SignedPubKey / X-SignedOperation the way the TypeScript SDK's vmClient makes them:
  // WebCrypto P-256 (randomized ECDSA, raw r||s), compact JSON, JWK with ext and key_ops
  const [keyhex, domain, method, reqPath] = args
  const wallet = new ethers6.Wallet(keyhex)
  const pair = await crypto.webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])
  const jwk = await crypto.webcrypto.subtle.exportKey('jwk', pair.publicKey)
  const payload = { pubkey: jwk, alg: 'ECDSA', domain, address: wallet.address, chain: 'ETH', expires: new Date(Date.now() + 24 * 3600 * 1000).toISOString() }
  const payloadBytes = Buffer.from(JSON.stringify(payload), 'utf8')
  const pk = { sender: wallet.address, payload: payloadBytes.toString('hex'), signature: await wallet.signMessage(payloadBytes), content: { domain } }
  const op = { time: new Date().toISOString(), method, path: reqPath, domain }
  const opBytes = Buffer.from(JSON.stringify(op), 'utf8')
  const sig = Buffer.from(await crypto.webcrypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, pair.privateKey, opBytes))
  console.log(JSON.stringify(pk))
  console.log(JSON.stringify({ payload: opBytes.toString('hex'), signature: sig.toString('hex') }))
  console.log(wallet.address)
} else if (cmd === 'verify') {
  for (const f of args) {
    const m = JSON.parse(fs.readFileSync(f, 'utf8'))
    const sha = crypto.createHash('sha256').update(m.item_content, 'utf8').digest('hex')
    if (sha !== m.item_hash) fail(`${f}: item_hash ${m.item_hash} != sha256(item_content) ${sha}`)
    const hashed = new HashedMessage({ ...m, content: JSON.parse(m.item_content) })
    const buf = hashed.getVerificationBuffer()
    if (!verifyEthereum(hashed, m.signature, m.sender)) fail(`${f}: Aleph SDK verifyEthereum refused it`)
    if (ethers6.verifyMessage(buf, m.signature) !== m.sender) fail(`${f}: ethers v6 recovers another signer`)
    if (ethers5.utils.verifyMessage(buf, m.signature) !== m.sender) fail(`${f}: ethers v5 recovers another signer`)
    // the SDK's own serialization of the parsed content hashes to the same item_hash only when
    // the key order is the SDK's: not required, but report it
    const sdkBytes = JSON.stringify(JSON.parse(m.item_content))
    if (sdkBytes !== m.item_content && !/[^\x00-\x7f]|\\u/.test(m.item_content) && !/\.0[,}]/.test(m.item_content)) fail(`${f}: content is not compact JSON`)
  }
} else if (cmd === 'sdk-sign') {
  const [outdir, keyhex] = args
  const account = importAccountFromPrivateKey(keyhex)
  const channel = 'TEST'
  const write = async (name, content, type) => {
    const built = buildMessage({ account, channel, content, timestamp: content.time, storageEngine: ItemType.inline }, type)
    const hashed = await prepareAlephMessage({ message: built, apiServer: 'http://127.0.0.1:9' })
    const signed = new SignedMessage({ ...hashed, signature: await account.sign(hashed) })
    fs.writeFileSync(path.join(outdir, name + '.json'), JSON.stringify(signed.getBroadcastable()))
  }
  const instance = await new InstanceMessageClient('http://127.0.0.1:9').prepareMessageContent({
    account,
    metadata: { name: 'peer-test ünïcödé' },
    authorized_keys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGULT6A41Msmw2KEu0R9MvUjhuWNAsbdeZ0DOwYbt4Qt user@example'],
    resources: { vcpus: 2, memory: 4096 },
    environment: { hypervisor: 'qemu', trusted_execution: { firmware: 'ba5bb13f3abca960b101a759be162b229e2b7e93ecad9d1307e54de887f177ff', policy: 1 } },
    rootfs: { parent: { ref: '549ec451d9b099cad112d4aaa2c00ac40fb6729a92ff252ff22eef0b5c3cb613' }, persistence: 'host', size_mib: 20480 },
    requirements: { node: { node_hash: '4d4db19afca380fdf06ba7f916153d0f740db9de9eee23ad26ba96a90d8a2920' } }
  })
  await write('sdk-instance', instance, MessageType.instance)
  const store = await new StoreMessageClient('http://127.0.0.1:9').prepareMessageContent({
    account, storageEngine: ItemType.ipfs, fileHash: 'QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH'
  })
  await write('sdk-store', store, MessageType.store)
  await write('sdk-forget', { address: account.address, time: Date.now() / 1000, hashes: ['95139dae69e0e9d2a7b195264f0d04fab023b4cfd7d1f2ae2bd22d7a60a66692'], reason: 'peer test' }, MessageType.forget)
  console.log(account.address)
} else if (cmd === 'snp-inject') {
  // Aleph's owner-authenticated SEV-SNP injection computed independently: canonical JSON by
  // JSON.stringify of each key and value in the keys' sorted order (not of an object: a JS
  // object puts integer-like keys such as "6" first, whatever the order they were set in),
  // the hashes by node's crypto, EIP-191 by ethers v6
  const [keyhex, pkhex, secretsFile, bodyFile] = args
  const secrets = JSON.parse(fs.readFileSync(secretsFile, 'utf8'))
  const canonical = '{' + Object.keys(secrets).sort()
    .map(k => JSON.stringify(k) + ':' + JSON.stringify(secrets[k])).join(',') + '}'
  const h = (alg, data) => crypto.createHash(alg).update(data).digest('hex')
  const payload = 'aleph-snp-inject-secret-v1|' + h('sha384', Buffer.from(pkhex, 'hex')) + '|' + h('sha256', Buffer.from(canonical, 'utf8'))
  const wallet = new ethers6.Wallet(keyhex)
  const signature = await wallet.signMessage(payload)
  const want = '{"secrets":' + canonical + ',"signature":"' + signature + '"}'
  const ours = fs.readFileSync(bodyFile, 'utf8')
  if (ours !== want) fail(`body differs:\n ours   ${ours}\n ethers ${want}`)
  const body = JSON.parse(ours)
  if (ethers6.verifyMessage(payload, body.signature) !== wallet.address) fail('ethers recovers another signer from our body')
} else if (cmd === 'keystores') {
  const [outdir, password] = args
  const wallet = ethers6.Wallet.createRandom()
  const w5 = new ethers5.Wallet(wallet.privateKey)
  // scrypt as ethers v5 writes it (N lowered from 2^17 to keep the test fast), as ethers v6
  // writes it by default (N = 2^17), and an upper-case "Crypto" member as ethers v5 has
  fs.writeFileSync(path.join(outdir, 'ethers5-scrypt.json'),
    await w5.encrypt(password, { scrypt: { N: 1024 } }), { mode: 0o600 })
  fs.writeFileSync(path.join(outdir, 'ethers6-scrypt.json'), wallet.encryptSync(password), { mode: 0o600 })
  // pbkdf2 (geth's and eth-account's other KDF): node's crypto, then checked by ethers v6
  const salt = crypto.randomBytes(32), iv = crypto.randomBytes(16), c = 4096
  const dk = crypto.pbkdf2Sync(Buffer.from(password, 'utf8'), salt, c, 32, 'sha256')
  const cipher = crypto.createCipheriv('aes-128-ctr', dk.subarray(0, 16), iv)
  const ct = Buffer.concat([cipher.update(Buffer.from(wallet.privateKey.slice(2), 'hex')), cipher.final()])
  const mac = ethers6.keccak256(Buffer.concat([dk.subarray(16, 32), ct])).slice(2)
  const pbkdf2 = JSON.stringify({
    address: wallet.address.slice(2).toLowerCase(), id: crypto.randomUUID(), version: 3,
    crypto: { cipher: 'aes-128-ctr', cipherparams: { iv: iv.toString('hex') }, ciphertext: ct.toString('hex'),
              kdf: 'pbkdf2', kdfparams: { c, dklen: 32, prf: 'hmac-sha256', salt: salt.toString('hex') }, mac } })
  const back = ethers6.decryptKeystoreJsonSync(pbkdf2, password)
  if (back.address !== wallet.address) fail('ethers v6 does not open the pbkdf2 keystore')
  fs.writeFileSync(path.join(outdir, 'pbkdf2.json'), pbkdf2, { mode: 0o600 })
  for (const f of ['ethers5-scrypt.json', 'ethers6-scrypt.json']) {
    const w = ethers6.Wallet.fromEncryptedJsonSync(fs.readFileSync(path.join(outdir, f), 'utf8'), password)
    if (w.address !== wallet.address) fail(`ethers v6 does not open ${f}`)
  }
  console.log(wallet.address)
} else {
  console.error('unknown command ' + cmd)
  process.exit(2)
}
process.exit(failed ? 1 : 0)
