// A lease contender in its own process, for the kill -9 takeover test: `node --import tsx lease-holder.ts <servers>
// <bucket> <lease> <holder> <ttlMs>`. Prints one line per event: "acquired <holder>", "lost <holder>: <reason>".
import { connect } from "@nats-io/transport-node";
import { KvBucket } from "../../../src/kv/kv-bucket.js";
import { Lease } from "../../../src/kv/lease.js";

const [servers, bucketName, leaseName, holder, ttl] = process.argv.slice(2);
if (!servers || !bucketName || !leaseName || !holder || !ttl) {
  console.error("usage: lease-holder.ts <servers,...> <bucket> <lease> <holder> <ttlMs>");
  process.exit(2);
}
const nc = await connect({ servers: servers.split(","), reconnectTimeWait: 100, maxReconnectAttempts: -1 });
const bucket = await KvBucket.open(nc, bucketName, { replicas: 3, writerId: holder });
const lease = new Lease({
  bucket,
  name: leaseName,
  holder,
  ttlMs: Number(ttl),
  onAcquired: () => console.log(`acquired ${holder}`),
  onLost: (e) => console.log(`lost ${holder}: ${e.message}`),
});
lease.start();
// Keeps the process alive (the lease's timers are unref'd): it runs until it is killed.
setInterval(() => {}, 60_000);
