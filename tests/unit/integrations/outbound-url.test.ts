import { describe, expect, it } from 'vitest';
import { guardedLookup, OutboundFailure } from '../../../integrations/outbound-http.js';
import { addressProblem, endpointUrlProblem, outboundPolicyFor } from '../../../integrations/outbound-url.js';

const production = outboundPolicyFor('production');
const test = outboundPolicyFor('test');

describe('which customer-given URLs the platform calls (SSRF rules)', () => {
  it('loopback only outside production: development and test allow it, production refuses it', () => {
    expect(outboundPolicyFor('production')).toEqual({ allowLoopback: false });
    expect(outboundPolicyFor('development')).toEqual({ allowLoopback: true });
    expect(outboundPolicyFor('test')).toEqual({ allowLoopback: true });
  });

  it('https to a public host is called in every mode', () => {
    for (const url of ['https://erp.example.com/sap/opu/odata/sap/Z_SRV', 'https://8.8.8.8/hook', 'https://[2606:4700::1111]/hook', 'https://hooks.example.com:8443/in?token=abc']) {
      expect(endpointUrlProblem(url, production), url).toBeUndefined();
      expect(endpointUrlProblem(url, test), url).toBeUndefined();
    }
  });

  it('http is refused, except to a loopback host outside production', () => {
    expect(endpointUrlProblem('http://erp.example.com/api', test)).toBe('must be an https: URL (http: only to a loopback host, for local testing)');
    expect(endpointUrlProblem('http://erp.example.com/api', production)).toBe('must be an https: URL (http: only to a loopback host, for local testing)');
    expect(endpointUrlProblem('http://127.0.0.1:8080/api', test)).toBeUndefined();
    expect(endpointUrlProblem('http://localhost:8080/api', test)).toBeUndefined();
    expect(endpointUrlProblem('http://[::1]:8080/api', test)).toBeUndefined();
    expect(endpointUrlProblem('ftp://erp.example.com/', test)).toBe('must be an https: URL');
    expect(endpointUrlProblem('file:///etc/passwd', test)).toBe('must be an https: URL');
  });

  it('in production every loopback form is refused, over https too', () => {
    for (const url of ['https://127.0.0.1/', 'https://127.1.2.3/', 'https://localhost/', 'https://api.localhost/', 'https://[::1]/', 'https://0x7f000001/', 'http://127.0.0.1:8080/']) {
      expect(endpointUrlProblem(url, production), url).toBe('must not point at this machine (loopback is refused in production)');
    }
  });

  it('private, link-local (cloud metadata), CGNAT, unspecified and mapped addresses are refused in every mode', () => {
    const cases: Array<[string, string]> = [
      ['https://10.1.2.3/', '10.1.2.3 is not a public address (private)'],
      ['https://192.168.0.10/', '192.168.0.10 is not a public address (private)'],
      ['https://172.16.5.4/', '172.16.5.4 is not a public address (private)'],
      ['https://169.254.169.254/latest/meta-data', '169.254.169.254 is not a public address (linkLocal)'],
      ['https://100.64.0.1/', '100.64.0.1 is not a public address (carrierGradeNat)'],
      ['https://0.0.0.0/', '0.0.0.0 is not a public address (unspecified)'],
      ['https://[fd00::1]/', 'fd00::1 is not a public address (uniqueLocal)'],
      ['https://[::ffff:10.0.0.1]/', '::ffff:a00:1 is not a public address (private)'],
    ];
    for (const [url, problem] of cases) {
      expect(endpointUrlProblem(url, test), url).toBe(`must point at a public address: ${problem}`);
      expect(endpointUrlProblem(url, production), url).toBe(`must point at a public address: ${problem}`);
    }
  });

  it('no credentials in the URL, no fragment; an ERP base URL takes no query', () => {
    expect(endpointUrlProblem('https://user:pw@erp.example.com/', test)).toMatch(/^must not carry credentials/);
    expect(endpointUrlProblem('https://erp.example.com/#x', test)).toBe('must not have a fragment (#…)');
    expect(endpointUrlProblem('https://erp.example.com/?sap-client=100', test, { allowQuery: false })).toBe('must not have a query string');
    expect(endpointUrlProblem('not a url', test)).toBe('must be an absolute URL');
    expect(endpointUrlProblem(`https://erp.example.com/${'a'.repeat(2048)}`, test)).toBe('must be at most 2048 characters');
  });

  it('addresses: only global unicast, plus loopback when allowed', () => {
    expect(addressProblem('93.184.216.34', production)).toBeUndefined();
    expect(addressProblem('127.0.0.1', production)).toBe('127.0.0.1 is a loopback address, refused in production');
    expect(addressProblem('127.0.0.1', test)).toBeUndefined();
    expect(addressProblem('224.0.0.1', test)).toBe('224.0.0.1 is not a public address (multicast)');
  });

  it('at connect time a name that resolves to any address not called is refused (DNS rebinding), and one that resolves publicly passes', async () => {
    const lookup = (answer: Array<{ address: string; family: number }>, policy = production) =>
      new Promise<{ error: Error | null; addresses: unknown }>((resolve) =>
        guardedLookup(policy, (_host, _options, callback) => callback(null, answer))('erp.example.com', { all: true }, (error, addresses) => resolve({ error, addresses })),
      );
    const mixed = await lookup([{ address: '93.184.216.34', family: 4 }, { address: '10.0.0.5', family: 4 }]);
    expect(mixed.error).toBeInstanceOf(OutboundFailure);
    expect(mixed.error).toMatchObject({ kind: 'refused', message: 'erp.example.com resolves to an address that is not called: 10.0.0.5 is not a public address (private)' });
    expect((await lookup([{ address: '127.0.0.1', family: 4 }])).error).toMatchObject({ kind: 'refused' });
    expect((await lookup([{ address: '127.0.0.1', family: 4 }], test)).error).toBeNull();
    expect(await lookup([{ address: '93.184.216.34', family: 4 }])).toEqual({ error: null, addresses: [{ address: '93.184.216.34', family: 4 }] });
  });
});
