let lastMs = 0;
let counter = 0;

/**
 * A new id: a UUID version 7 (RFC 9562), 48 bits of Unix milliseconds, then a counter within the
 * millisecond, then random bits, so ids are unique and sort by creation time. It is built from
 * `crypto.getRandomValues`, which plain-http pages have; `crypto.randomUUID` needs a secure context.
 */
export function newId(now: number = Date.now()): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  if (now > lastMs) {
    lastMs = now;
    // Start low in the 12-bit counter, so that ids made within one millisecond keep counting up.
    counter = ((bytes[6] ?? 0) << 4) | ((bytes[7] ?? 0) >> 4);
    counter &= 0x7ff;
  } else if (++counter > 0xfff) {
    // More than 2048 ids in one millisecond (or the clock went back): borrow the next millisecond.
    lastMs++;
    counter = 0;
  }
  let ms = lastMs;
  for (let i = 5; i >= 0; i--) {
    bytes[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  bytes[6] = 0x70 | (counter >> 8);
  bytes[7] = counter & 0xff;
  bytes[8] = 0x80 | ((bytes[8] ?? 0) & 0x3f);
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
