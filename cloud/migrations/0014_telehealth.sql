CREATE TABLE "telehealth_reminders" (
	"id" text PRIMARY KEY NOT NULL,
	"appointment_id" text NOT NULL,
	"channel" text NOT NULL,
	"lead_minutes" integer NOT NULL,
	"due_at" bigint NOT NULL,
	"status" text NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" bigint,
	"last_error" text,
	"sent_at" bigint,
	"provider_message_id" text
);
--> statement-breakpoint
CREATE TABLE "telehealth_reminder_preferences" (
	"patient_id" text PRIMARY KEY NOT NULL,
	"email" boolean NOT NULL,
	"sms" boolean NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "telehealth_appointments" (
	"id" text PRIMARY KEY NOT NULL,
	"provider_user_id" text NOT NULL,
	"patient_id" text NOT NULL,
	"type" text NOT NULL,
	"status" text NOT NULL,
	"start_at" bigint NOT NULL,
	"end_at" bigint NOT NULL,
	"chief_complaint" text,
	"rescheduled_from" text,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "telehealth_providers" (
	"user_id" text PRIMARY KEY NOT NULL,
	"practitioner_id" text NOT NULL,
	"schedule_id" text NOT NULL,
	"time_zone" text NOT NULL,
	"working_hours" jsonb NOT NULL,
	"slot_minutes" integer NOT NULL,
	"updated_at" bigint NOT NULL,
	CONSTRAINT "telehealth_providers_practitioner_id_unique" UNIQUE("practitioner_id"),
	CONSTRAINT "telehealth_providers_schedule_id_unique" UNIQUE("schedule_id")
);
--> statement-breakpoint
CREATE TABLE "telehealth_documents" (
	"id" text PRIMARY KEY NOT NULL,
	"appointment_id" text NOT NULL,
	"patient_id" text NOT NULL,
	"uploaded_by" text NOT NULL,
	"uploader_role" text NOT NULL,
	"content_type" text NOT NULL,
	"size_bytes" bigint NOT NULL,
	"sha256" text NOT NULL,
	"wrapped_key" text NOT NULL,
	"chunk_bytes" integer NOT NULL,
	"ciphertext" "bytea" NOT NULL,
	"uploaded_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "telehealth_prescriptions" (
	"id" text PRIMARY KEY NOT NULL,
	"appointment_id" text,
	"patient_id" text NOT NULL,
	"prescriber_user_id" text NOT NULL,
	"rxnorm_code" text NOT NULL,
	"signed_at" bigint NOT NULL,
	"alerts" text NOT NULL,
	"pharmacy_id" text NOT NULL,
	"transmission" text NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" bigint,
	"last_error" text,
	"message_id" text NOT NULL,
	"sent_at" bigint
);
--> statement-breakpoint
CREATE TABLE "telehealth_visit_notes" (
	"appointment_id" text PRIMARY KEY NOT NULL,
	"notes" text NOT NULL,
	"written_by" text NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "telehealth_chat_messages" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"appointment_id" text NOT NULL,
	"sender_user_id" text NOT NULL,
	"sender_role" text NOT NULL,
	"body" text NOT NULL,
	"sent_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "telehealth_video_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"appointment_id" text NOT NULL,
	"at" bigint NOT NULL,
	"kind" text NOT NULL,
	"user_id" text,
	"role" text
);
--> statement-breakpoint
CREATE UNIQUE INDEX "telehealth_reminders_once" ON "telehealth_reminders" USING btree ("appointment_id","channel","lead_minutes");--> statement-breakpoint
CREATE INDEX "telehealth_reminders_due" ON "telehealth_reminders" USING btree ("status","next_attempt_at");--> statement-breakpoint
CREATE INDEX "telehealth_appointments_provider_start" ON "telehealth_appointments" USING btree ("provider_user_id","start_at");--> statement-breakpoint
CREATE INDEX "telehealth_appointments_patient_start" ON "telehealth_appointments" USING btree ("patient_id","start_at");--> statement-breakpoint
CREATE INDEX "telehealth_documents_appointment" ON "telehealth_documents" USING btree ("appointment_id");--> statement-breakpoint
CREATE INDEX "telehealth_prescriptions_pending" ON "telehealth_prescriptions" USING btree ("transmission","next_attempt_at");--> statement-breakpoint
CREATE INDEX "telehealth_prescriptions_appointment" ON "telehealth_prescriptions" USING btree ("appointment_id","signed_at");--> statement-breakpoint
CREATE INDEX "telehealth_chat_messages_appointment" ON "telehealth_chat_messages" USING btree ("appointment_id","id");--> statement-breakpoint
CREATE INDEX "telehealth_video_events_appointment" ON "telehealth_video_events" USING btree ("appointment_id","at");