// Time comes from one injectable place, so tests can move it (token expiry, key overlap).
export interface Clock {
  now(): Date
}

export const systemClock: Clock = { now: () => new Date() }

export function epochSeconds(clock: Clock): number {
  return Math.floor(clock.now().getTime() / 1000)
}
