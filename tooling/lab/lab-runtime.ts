// What differs per lab run: tokens (made once), ports (usual ones unless taken), and the URLs built from them.
import {
  LAB_RACKS,
  type LabRuntime,
  loadLabMixerConfig,
  loadLabRackConfig,
  natsUrlPort,
  splitListen,
} from "./lab-config.js";
import type { LabLayout } from "./lab-layout.js";
import { readOrCreateToken } from "./lab-layout.js";
import type { LabOptions } from "./lab-options.js";
import { choosePort } from "./lab-ports.js";

/**
 * Reads both example configs the way the binaries do (so a mistake shows here, not in five logs), takes the tokens
 * from the lab dir (creating them on the first run) and picks the ports; `say` reports what the operator should know.
 */
export async function prepareRuntime(opts: {
  options: LabOptions;
  layout: LabLayout;
  say: (text: string) => void;
}): Promise<LabRuntime> {
  const { options, layout, say } = opts;
  const config = await loadLabMixerConfig(options.autoAdopt ? { FLUXRIG_ENROLLMENT_AUTO_ADOPT: "true" } : {});
  await loadLabRackConfig({ FLUXRIG_RACK_NAME: LAB_RACKS[0] });

  const { token, created } = await readOrCreateToken(layout.tokenFile);
  const telemetry = await readOrCreateToken(layout.telemetryTokenFile);
  if (created) say(`generated a new API token in ${layout.tokenFile}`);

  const api = splitListen(config.api.listen);
  const natsPort = await choosePort({
    host: "127.0.0.1",
    requested: options.natsPort,
    preferred: natsUrlPort(config.nats.url),
    what: "nats-server",
    flag: "--nats-port",
  });
  const apiPort = await choosePort({
    host: api.host,
    requested: options.apiPort,
    preferred: api.port,
    what: "the Mixer API",
    flag: "--api-port",
    avoid: [natsPort.port],
  });
  for (const note of [natsPort.note, apiPort.note]) if (note !== undefined) say(note);

  const apiHost = api.host.includes(":") ? `[${api.host}]` : api.host;
  // A wildcard listen address is reached on loopback.
  const reachable = api.host === "0.0.0.0" ? "127.0.0.1" : api.host === "::" ? "[::1]" : apiHost;
  return {
    labDir: layout.dir,
    natsUrl: `nats://127.0.0.1:${natsPort.port}`,
    apiListen: `${apiHost}:${apiPort.port}`,
    apiUrl: `http://${reachable}:${apiPort.port}`,
    token,
    telemetryToken: telemetry.token,
    autoAdopt: options.autoAdopt,
    auth: options.auth,
    bootstrapCreds: layout.bootstrapCreds,
  };
}
