// Kubernetes name and label syntax, checked where names enter pilotfish (files, the REST registry),
// so a bad name is reported with its object instead of surfacing later as a broken Envoy resource.
// Each check returns the reason the value is invalid, or undefined when it is valid.

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const IANA_SVC_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

export function dns1123LabelError(value: string): string | undefined {
  if (value.length > 63) return `"${value}" is longer than 63 characters`;
  if (!DNS1123_LABEL.test(value)) {
    return `"${value}" is not a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit)`;
  }
  return undefined;
}

export function dns1035LabelError(value: string): string | undefined {
  if (value.length > 63) return `"${value}" is longer than 63 characters`;
  if (!DNS1035_LABEL.test(value)) {
    return `"${value}" is not a DNS-1035 label (lowercase letters, digits and '-', starting with a letter and ending with a letter or digit)`;
  }
  return undefined;
}

export function dns1123SubdomainError(value: string): string | undefined {
  if (value.length > 253) return `"${value}" is longer than 253 characters`;
  if (value === '' || !value.split('.').every((part) => DNS1123_LABEL.test(part))) {
    return `"${value}" is not a DNS-1123 subdomain (dot-separated lowercase labels of letters, digits and '-')`;
  }
  return undefined;
}

/** Named ports (container ports, targetPort names): IANA service name syntax. */
export function portNameError(value: string): string | undefined {
  if (value.length > 15) return `port name "${value}" is longer than 15 characters`;
  if (!IANA_SVC_NAME.test(value) || value.includes('--') || !/[a-z]/.test(value)) {
    return `port name "${value}" must be lowercase letters, digits and single '-', with at least one letter`;
  }
  return undefined;
}

export function labelKeyError(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && dns1123SubdomainError(prefix) !== undefined) {
    return `label key "${key}" has an invalid prefix (must be a DNS-1123 subdomain)`;
  }
  if (name.length > 63 || !LABEL_NAME.test(name)) {
    return `label key "${key}" is invalid (name part: at most 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric)`;
  }
  return undefined;
}

export function labelValueError(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > 63 || !LABEL_NAME.test(value)) {
    return `label value "${value}" is invalid (at most 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric)`;
  }
  return undefined;
}

export function isPortNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65535;
}
