// Shares the courier's position while they carry an order: the browser's geolocation
// (when the user grants it), sent to PUT /couriers/me/location at most every SEND_MS
// (the API takes one every 5 s and answers 429 to more).
import { ApiError, put } from "./api.js";

const SEND_MS = 10000;

// Starts watching; returns the function that stops. `onState` hears "sharing", "denied"
// or "unsupported", for the page to say so.
export function sharePosition(onState) {
  if (!("geolocation" in navigator)) {
    onState("unsupported");
    return () => {};
  }
  let lastSent = 0;
  let sending = false;
  const id = navigator.geolocation.watchPosition(
    async ({ coords }) => {
      const now = Date.now();
      if (sending || now - lastSent < SEND_MS) return;
      sending = true;
      lastSent = now;
      try {
        await put("/couriers/me/location", { lat: round(coords.latitude), lng: round(coords.longitude) });
        onState("sharing");
      } catch (e) {
        if (!(e instanceof ApiError)) throw e; // a 429 only means the next one will do
      } finally {
        sending = false;
      }
    },
    (error) => onState(error.code === error.PERMISSION_DENIED ? "denied" : "unsupported"),
    { enableHighAccuracy: true, maximumAge: 5000 },
  );
  return () => navigator.geolocation.clearWatch(id);
}

function round(value) {
  return Math.round(value * 1e6) / 1e6;
}
