// Independent peer for the IPFS tests: the CID of FILE as ipfs-unixfs-importer computes it with
// kubo's `ipfs add` defaults, and a CAR of the importer's blocks (in the order it stores them,
// each block once) written by @ipld/car. Usage: node ipfs-peer.mjs FILE OUT.car
// Prints {"cid": "...", "blocks": n}.
import fs from 'node:fs'
import { importer } from 'ipfs-unixfs-importer'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced } from 'ipfs-unixfs-importer/layout'
import { CarWriter } from '@ipld/car/writer'

const [file, out] = process.argv.slice(2)
const order = []
const blocks = new Map()
const blockstore = {
  async put (cid, bytes) {
    const key = cid.toString()
    if (!blocks.has(key)) {
      blocks.set(key, bytes)
      order.push(cid)
    }
    return cid
  },
  async get (cid) { return blocks.get(cid.toString()) },
  async has (cid) { return blocks.has(cid.toString()) }
}

let root
for await (const entry of importer([{ content: fs.createReadStream(file, { highWaterMark: 1 << 20 }) }], blockstore, {
  cidVersion: 0,
  rawLeaves: false,
  leafType: 'file',
  reduceSingleLeafToSelf: true,
  chunker: fixedSize({ chunkSize: 262144 }),
  layout: balanced({ maxChildrenPerNode: 174 }),
  blockWriteConcurrency: 1
})) {
  root = entry.cid
}

const { writer, out: carOut } = CarWriter.create([root])
const sink = fs.createWriteStream(out)
const done = (async () => { for await (const chunk of carOut) { if (!sink.write(chunk)) await new Promise(resolve => sink.once('drain', resolve)) } sink.end() })()
for (const cid of order) await writer.put({ cid, bytes: blocks.get(cid.toString()) })
await writer.close()
await done
await new Promise(resolve => sink.on('close', resolve))
console.log(JSON.stringify({ cid: root.toString(), blocks: order.length }))
