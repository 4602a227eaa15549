CREATE TABLE "chart_cursors" (
	"gateway_id" text PRIMARY KEY NOT NULL,
	"charted_seq" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "chart_pending" (
	"patient_id" text NOT NULL,
	"parameter" text NOT NULL,
	"slot_start" bigint NOT NULL,
	"slot_end" bigint NOT NULL,
	CONSTRAINT "chart_pending_patient_id_parameter_slot_start_pk" PRIMARY KEY("patient_id","parameter","slot_start")
);
--> statement-breakpoint
CREATE TABLE "clinical_alerts" (
	"id" text PRIMARY KEY NOT NULL,
	"patient_id" text NOT NULL,
	"observation_id" text NOT NULL,
	"parameter" text NOT NULL,
	"value" double precision NOT NULL,
	"unit" text NOT NULL,
	"interpretation" text NOT NULL,
	"effective_time" bigint NOT NULL,
	"raised_at" bigint NOT NULL,
	"acknowledged_at" bigint,
	"acknowledged_by" text,
	"acknowledge_note" text
);
--> statement-breakpoint
DROP INDEX "readings_patient_time";--> statement-breakpoint
CREATE INDEX "chart_pending_due" ON "chart_pending" USING btree ("slot_end");--> statement-breakpoint
CREATE INDEX "clinical_alerts_patient" ON "clinical_alerts" USING btree ("patient_id","raised_at");--> statement-breakpoint
CREATE UNIQUE INDEX "clinical_alerts_open" ON "clinical_alerts" USING btree ("patient_id","parameter") WHERE acknowledged_at is null;--> statement-breakpoint
CREATE INDEX "readings_patient_parameter_time" ON "readings" USING btree ("patient_id","parameter","device_time");