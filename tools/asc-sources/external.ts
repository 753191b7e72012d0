// A host function and a host global, imported from "env", plus static data.
@external("env", "hostLog")
declare function hostLog(x: i32): void;

@external("env", "g")
declare const g: i32;

export const greeting = "hello";

export function run(n: i32): i32 {
  hostLog(n + g);
  return load<u8>(changetype<usize>(greeting) + <usize>n);
}
