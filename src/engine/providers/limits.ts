/**
 * Reset times as the agents print them, to an ISO time: Claude "resets 5:43pm (UTC)" or
 * "resets Nov 27, 7:30pm (UTC)", Codex "try again at 5:42 PM" or "try again at Nov 27th, 2026 7:29 PM".
 * Local time unless a zone is named; a bare time already past means tomorrow.
 */
const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

export function parseResetTime(text: string, now = new Date()): string | null {
  const m = /(?:resets|try again at)\s+(?:([A-Z][a-z]{2})[a-z]*\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(?:(\d{4})\s+)?)?(\d{1,2})(?::(\d{2}))?\s*([ap]m)\b(?:\s*\(([^)]+)\))?/i.exec(text);
  if (!m) return null;
  const [, mon, day, year, hh, mm, ampm, zone] = m;
  let hour = Number(hh) % 12;
  if (ampm!.toLowerCase() === "pm") hour += 12;
  const utc = zone?.toUpperCase() === "UTC" || zone?.toUpperCase() === "GMT";
  const get = (d: Date) => (utc ? { y: d.getUTCFullYear(), mo: d.getUTCMonth(), d: d.getUTCDate() } : { y: d.getFullYear(), mo: d.getMonth(), d: d.getDate() });
  const base = get(now);
  const month = mon ? MONTHS.indexOf(mon.toLowerCase()) : base.mo;
  if (month < 0) return null;
  const make = (y: number, mo: number, d: number) => (utc ? new Date(Date.UTC(y, mo, d, hour, Number(mm ?? 0))) : new Date(y, mo, d, hour, Number(mm ?? 0)));
  let at = make(year ? Number(year) : base.y, month, day ? Number(day) : base.d);
  if (!day && at.getTime() < now.getTime()) at = new Date(at.getTime() + 86_400_000);
  else if (day && !year && at.getTime() < now.getTime() - 86_400_000) at = make(base.y + 1, month, Number(day));
  return Number.isNaN(at.getTime()) ? null : at.toISOString();
}
