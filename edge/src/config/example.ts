/** What `wardgate-edge init` writes: every field, commented, for the biomedical engineer. */
export const EXAMPLE_CONFIG = `# wardgate-edge configuration. Check it with: wardgate-edge config check --config <this file>
gateway:
  # Lowercase letters, digits and dashes; the cloud knows the gateway by this id.
  id: ward-a
  # SQLite store and state. Relative paths are relative to this file.
  dataDir: ./data

cloud:
  # The cloud's MQTT broker (mqtt:// or mqtts://).
  mqttUrl: mqtt://127.0.0.1:4783
  # With mqtts://: the CA that signed the cloud's certificate (wardgate-cloud ca init makes ca.crt).
  # Leave it out to trust the system's CAs.
  # caFile: ./ca.crt
  # username defaults to the gateway id.
  password: change-me
  # Ed25519 secret key that signs every envelope: wardgate-edge keygen --out gateway.key
  signingKeyFile: ./gateway.key
  # Readings per envelope, and how long (ms) the sync waits to fill one.
  batchSize: 500
  batchWindowMs: 200

# The gateway's own web server: /health and /metrics.
http:
  host: 127.0.0.1
  port: 4790

# The HL7 v2 MLLP listener the patient monitors push to (needed for hl7-mllp devices).
mllp:
  host: 0.0.0.0
  port: 4791

# Readings the cloud has acked stay on the gateway this long (hours), then a job prunes them.
# Unacked readings and alarm events are never pruned.
retention:
  keepAckedReadingsHours: 72

# Alarm engine: default limit profile (adult, pediatric, neonatal), audio pause and escalation
# times, and per-bed profiles/limits (the cloud's per-bed settings override these).
alarms:
  defaultProfile: adult
  silenceSeconds: 120
  escalateAfterSeconds: 60
  cloudUnreachableSeconds: 300
  minFreeDiskMb: 200
  # Technical alarms about device links: comm errors clear after this many quiet seconds; a device
  # dropping offline unstableAfterDrops times within unstableWindowSeconds is flagged unstable.
  commErrorClearSeconds: 30
  unstableAfterDrops: 3
  unstableWindowSeconds: 300
  # beds:
  #   bed-1:
  #     profile: neonatal
  #     limits:
  #       MDC_PULS_OXIM_SAT_O2: { low: 88, delaySeconds: 10 }

# Who may acknowledge and silence alarms on the nurse screen (badge, name, 4-8 digit PIN).
staff:
  - badge: N100
    name: Ward Nurse
    pin: "2468"

devices:
  # Patient monitor pushing IHE PCD-01 ORU^R01 over MLLP; known by its MSH-3 sending application.
  - id: bed-1-monitor
    kind: monitor
    bed: bed-1
    driver: hl7-mllp
    silentAfterSeconds: 10

  # Ventilator polled over Modbus TCP with a register map from shared/profiles/<profile>.json.
  - id: bed-1-vent
    kind: ventilator
    bed: bed-1
    driver: modbus-tcp
    host: 10.0.0.21
    port: 502
    unitId: 1
    profile: sim-ventilator-v1
    pollIntervalMs: 1000

  # Infusion pump, also Modbus TCP.
  - id: bed-1-pump
    kind: pump
    bed: bed-1
    driver: modbus-tcp
    host: 10.0.0.22
    port: 502
    unitId: 1
    profile: sim-pump-v1
    pollIntervalMs: 1000

  # Pulse oximeter on a serial device server (raw TCP) ...
  - id: bed-1-oxi
    kind: oximeter
    bed: bed-1
    driver: serial-tcp
    host: 10.0.0.23
    port: 4001
  # ... or on a local serial port:
  # - id: bed-1-oxi
  #   kind: oximeter
  #   bed: bed-1
  #   driver: serial
  #   path: /dev/ttyUSB0
  #   baudRate: 9600
`;
