// Aleph's TypeScript SDK (npm, the Aleph-client engineer's tests/npm/node_modules) against the
// devnet: posts a POST message and a STORE with a file, reads them back through the SDK's own
// getters and checks every field survived the round trip. Exit 0 on success.
//   node sdk-roundtrip.mjs NPM_DIR API_URL PRIVATE_KEY_HEX
import crypto from 'node:crypto'
import path from 'node:path'
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'

const [npmDir, api, keyHex] = process.argv.slice(2)
const require = createRequire(path.join(npmDir, 'package.json'))
const load = async (name) => import(pathToFileURL(require.resolve(name)).href)
const { importAccountFromPrivateKey } = await load('@aleph-sdk/ethereum')
const { PostMessageClient, StoreMessageClient, BaseMessageClient, ItemType } = await load('@aleph-sdk/message')

let failed = 0
const check = (cond, what) => { if (!cond) { console.error('FAIL: ' + what); failed++ } }

const account = importAccountFromPrivateKey(keyHex)
const channel = 'DEVNET-SDK-TEST'
const content = { greeting: 'hello devnet', n: 42, nested: { list: [1, 2, 3], unicode: 'é✓' } }

// 1. POST message, synchronous: the devnet must verify the SDK's signature and item_hash
const posts = new PostMessageClient(api)
const posted = await posts.send({ account, postType: 'devnet-test', content, channel, sync: true })
check(/^[0-9a-f]{64}$/.test(posted.item_hash), 'item_hash of the posted message')

// 2. read it back with the SDK's message client (GET /api/v0/messages/{hash})
const base = new BaseMessageClient(api)
const got = await base.get({ hash: posted.item_hash })
check(got.item_hash === posted.item_hash, 'GET returns the same item_hash')
check(got.sender === account.address, `sender ${got.sender} is ${account.address}`)
check(got.signature === posted.signature, 'signature round trip')
check(got.type === 'POST', `type ${got.type}`)
check(got.channel === channel, `channel ${got.channel}`)
check(got.item_content === posted.item_content, 'item_content is byte-identical')
check(JSON.stringify(got.content.content) === JSON.stringify(content), 'content round trip')
check(crypto.createHash('sha256').update(got.item_content, 'utf8').digest('hex') === got.item_hash,
  'sha256(item_content) == item_hash')

// 3. messages.json through the SDK (GET /api/v0/messages.json?hashes=…)
const page = await base.getAll({ hashes: [posted.item_hash] })
check(page.messages.length === 1 && page.messages[0].item_hash === posted.item_hash, 'messages.json finds it')
const byAddr = await base.getAll({ addresses: [account.address], channels: [channel] })
check(byAddr.messages.some((m) => m.item_hash === posted.item_hash), 'messages.json by address and channel')

// 4. a content of 60 000 characters: the SDK stores it with storage/add_json and posts a
//    non-inline message (item_type "storage"), which the devnet must resolve
const big = { blob: 'x'.repeat(60000) }
const bigPost = await posts.send({ account, postType: 'devnet-big', content: big, channel, sync: true })
const bigGot = await base.get({ hash: bigPost.item_hash })
check(bigGot.item_type === 'storage', `big message item_type ${bigGot.item_type}`)
check(bigGot.content && bigGot.content.content && bigGot.content.content.blob === big.blob, 'big content resolved from storage')

// 5. STORE with a file through storage/add_file (multipart built by the SDK) and download
const fileBytes = Buffer.from('devnet sdk file ' + crypto.randomBytes(8).toString('hex'))
const stores = new StoreMessageClient(api)
const store = await stores.send({ account, channel, fileObject: fileBytes, storageEngine: ItemType.storage, sync: true })
const storeGot = await base.get({ hash: store.item_hash })
const fileHash = crypto.createHash('sha256').update(fileBytes).digest('hex')
check(storeGot.content.item_hash === fileHash, `STORE content.item_hash ${storeGot.content.item_hash} is sha256 of the file`)
const downloaded = Buffer.from(await stores.download(fileHash))
check(downloaded.equals(fileBytes), 'storage/raw returns the uploaded bytes')

if (failed > 0) process.exit(1)
console.log(JSON.stringify({ ok: true, post: posted.item_hash, store: store.item_hash }))
