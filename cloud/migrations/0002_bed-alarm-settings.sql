CREATE TABLE "bed_alarm_settings" (
	"gateway_id" text NOT NULL,
	"bed_id" text NOT NULL,
	"settings" jsonb NOT NULL,
	"updated_at" bigint NOT NULL,
	CONSTRAINT "bed_alarm_settings_gateway_id_bed_id_pk" PRIMARY KEY("gateway_id","bed_id")
);
