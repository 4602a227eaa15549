/** An ICE server handed to the browsers (RTCIceServer). */
export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

export interface VideoOptions {
  /** STUN/TURN servers for the browsers; media never passes through the cloud. */
  iceServers?: IceServer[];
}
