CREATE TABLE "alarm_events" (
	"gateway_id" text NOT NULL,
	"seq" bigint NOT NULL,
	"alarm_id" text NOT NULL,
	"device_id" text NOT NULL,
	"bed_id" text NOT NULL,
	"source" text NOT NULL,
	"condition" text NOT NULL,
	"parameter" text,
	"priority" text NOT NULL,
	"kind" text NOT NULL,
	"transition" text NOT NULL,
	"value" double precision,
	"limit" double precision,
	"actor" text,
	"message" text,
	"time" bigint NOT NULL,
	"patient_id" text,
	"received_at" bigint NOT NULL,
	CONSTRAINT "alarm_events_gateway_id_seq_pk" PRIMARY KEY("gateway_id","seq")
);
--> statement-breakpoint
CREATE TABLE "bed_assignments" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"gateway_id" text NOT NULL,
	"bed_id" text NOT NULL,
	"patient_id" text NOT NULL,
	"display_name" text NOT NULL,
	"from_time" bigint NOT NULL,
	"to_time" bigint
);
--> statement-breakpoint
CREATE TABLE "gateway_status" (
	"gateway_id" text PRIMARY KEY NOT NULL,
	"online" boolean NOT NULL,
	"snapshot" jsonb NOT NULL,
	"received_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "gateways" (
	"id" text PRIMARY KEY NOT NULL,
	"public_key" text NOT NULL,
	"password_hash" text NOT NULL,
	"created_at" bigint NOT NULL,
	"revoked_at" bigint
);
--> statement-breakpoint
CREATE TABLE "ingest_cursors" (
	"gateway_id" text NOT NULL,
	"stream" text NOT NULL,
	"acked_up_to" bigint NOT NULL,
	CONSTRAINT "ingest_cursors_gateway_id_stream_pk" PRIMARY KEY("gateway_id","stream")
);
--> statement-breakpoint
CREATE TABLE "ingest_rejections" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"gateway_id" text,
	"topic" text NOT NULL,
	"code" text NOT NULL,
	"message" text NOT NULL,
	"received_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "patients" (
	"id" text PRIMARY KEY NOT NULL,
	"mrn" text NOT NULL,
	"family" text NOT NULL,
	"given" text NOT NULL,
	"gender" text NOT NULL,
	"birth_date" text NOT NULL,
	"version_id" integer DEFAULT 1 NOT NULL,
	"last_updated" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "readings" (
	"gateway_id" text NOT NULL,
	"seq" bigint NOT NULL,
	"device_id" text NOT NULL,
	"bed_id" text NOT NULL,
	"parameter" text NOT NULL,
	"value" double precision NOT NULL,
	"unit" text NOT NULL,
	"device_time" bigint NOT NULL,
	"gateway_time" bigint NOT NULL,
	"quality" text NOT NULL,
	"patient_id" text,
	"received_at" bigint NOT NULL,
	CONSTRAINT "readings_gateway_id_seq_pk" PRIMARY KEY("gateway_id","seq")
);
--> statement-breakpoint
CREATE INDEX "alarm_events_alarm" ON "alarm_events" USING btree ("gateway_id","alarm_id");--> statement-breakpoint
CREATE INDEX "bed_assignments_bed" ON "bed_assignments" USING btree ("gateway_id","bed_id","from_time");--> statement-breakpoint
CREATE UNIQUE INDEX "patients_mrn" ON "patients" USING btree ("mrn");--> statement-breakpoint
CREATE INDEX "readings_patient_time" ON "readings" USING btree ("patient_id","device_time");--> statement-breakpoint
CREATE INDEX "readings_device_time" ON "readings" USING btree ("gateway_id","device_id","device_time");