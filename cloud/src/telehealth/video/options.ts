/** An ICE server handed to the browsers (RTCIceServer). */
export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

export interface VideoOptions {
  /**
   * STUN/TURN servers for the browsers; media never passes through the cloud. Default: none,
   * which is enough when both browsers reach each other directly (same network, loopback).
   */
  iceServers?: IceServer[];
  /** How long before the start a participant may join (default 15 minutes). */
  joinEarlyMinutes?: number;
  /** How long after the scheduled end the room stays joinable (default 30 minutes). */
  lateGraceMinutes?: number;
  /** How long a room token is good for connecting (default 120 seconds). */
  tokenTtlSeconds?: number;
  /**
   * Browser origins (e.g. https://visit.example.org) allowed to open the signaling socket besides
   * the cloud's own (an Origin equal to the request's Host). Clients that send no Origin (not a
   * browser) are let through: the room token is their credential.
   */
  allowedOrigins?: string[];
}

export interface VideoSettings {
  iceServers: IceServer[];
  joinEarlyMs: number;
  lateGraceMs: number;
  tokenTtlMs: number;
  allowedOrigins: string[];
}

export function videoSettings(options: VideoOptions = {}): VideoSettings {
  return {
    iceServers: options.iceServers ?? [],
    joinEarlyMs: (options.joinEarlyMinutes ?? 15) * 60_000,
    lateGraceMs: (options.lateGraceMinutes ?? 30) * 60_000,
    tokenTtlMs: (options.tokenTtlSeconds ?? 120) * 1000,
    allowedOrigins: options.allowedOrigins ?? [],
  };
}
