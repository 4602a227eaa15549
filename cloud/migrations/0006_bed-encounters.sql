ALTER TABLE "bed_assignments" ADD COLUMN "encounter_id" text;--> statement-breakpoint
CREATE INDEX "bed_assignments_patient" ON "bed_assignments" USING btree ("patient_id","to_time");