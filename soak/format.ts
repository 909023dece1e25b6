export function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

export function signedMib(bytes: number): string {
  return `${bytes >= 0 ? '+' : '-'}${mib(Math.abs(bytes))}`;
}

export function count(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

export function ms(value: number): string {
  return `${value.toFixed(1)} ms`;
}
