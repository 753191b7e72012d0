// Static strings and arrays (assemblyscript-static-data.md section 5).
export const greeting = "hello";
export const nums: i32[] = [1, 2, 3];
export const sa: StaticArray<i32> = [7, 8, 9];
export const strs: string[] = ["ab", "cde"];
