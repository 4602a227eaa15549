CREATE TABLE `alarm_events` (
	`seq` integer PRIMARY KEY NOT NULL,
	`alarm_id` text NOT NULL,
	`device_id` text NOT NULL,
	`bed_id` text NOT NULL,
	`source` text NOT NULL,
	`condition` text NOT NULL,
	`parameter` text,
	`priority` text NOT NULL,
	`kind` text NOT NULL,
	`transition` text NOT NULL,
	`value` real,
	`limit` real,
	`actor` text,
	`message` text,
	`time` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `alarm_events_alarm` ON `alarm_events` (`alarm_id`);--> statement-breakpoint
CREATE TABLE `readings` (
	`seq` integer PRIMARY KEY NOT NULL,
	`device_id` text NOT NULL,
	`bed_id` text NOT NULL,
	`parameter` text NOT NULL,
	`value` real NOT NULL,
	`unit` text NOT NULL,
	`device_time` integer NOT NULL,
	`gateway_time` integer NOT NULL,
	`quality` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `settings` (
	`key` text PRIMARY KEY NOT NULL,
	`json` text NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `streams` (
	`stream` text PRIMARY KEY NOT NULL,
	`last_seq` integer NOT NULL,
	`acked_up_to` integer NOT NULL,
	`acked_at` integer
);
