import { describe, expect, it } from 'vitest';
import { odataErrorMessage, parseODataError } from '../../../integrations/erp/odata-errors.js';
import { keyFromEntityUri } from '../../../integrations/erp/sap-odata.js';
import { restErrorText } from '../../../integrations/erp/rest.js';

describe('OData error bodies → one message a person can act on', () => {
  it('SAP Gateway v2 JSON: code, message value, the error details with their targets (warnings and the repeated main message left out)', () => {
    const body = JSON.stringify({
      error: {
        code: 'VL/361',
        message: { lang: 'en', value: 'Delivery could not be created' },
        innererror: {
          transactionid: 'A1B2',
          errordetails: [
            { code: 'VL/361', message: 'Delivery could not be created', propertyref: '', severity: 'error', target: '' },
            { code: 'M3/305', message: 'Material UN9999 does not exist', propertyref: 'Items(1)/MaterialNumber', severity: 'error' },
            { code: 'VL/150', message: 'Route was determined again', severity: 'warning' },
            { code: '/IWBEP/CX_MGW_BUSI_EXCEPTION', message: 'An exception was raised', severity: 'error' },
          ],
        },
      },
    });
    expect(odataErrorMessage(400, 'create DeliveryOrders', body)).toBe(
      'SAP answered 400 to create DeliveryOrders: [VL/361] Delivery could not be created; [M3/305] Material UN9999 does not exist (at Items(1)/MaterialNumber); [/IWBEP/CX_MGW_BUSI_EXCEPTION] An exception was raised',
    );
  });

  it('OData v4 JSON: message as a string, target and details', () => {
    const body = JSON.stringify({ error: { code: '400', message: 'Property Quantity has an invalid value', target: 'Items/0/Quantity', details: [{ code: 'QTY', message: 'must be positive', target: 'Items/0/Quantity' }] } });
    expect(parseODataError(body)).toEqual({ code: '400', message: 'Property Quantity has an invalid value', target: 'Items/0/Quantity', details: [{ code: 'QTY', message: 'must be positive', target: 'Items/0/Quantity' }] });
    expect(odataErrorMessage(422, 'create DispatchNotices', body)).toBe('SAP answered 422 to create DispatchNotices: [400] Property Quantity has an invalid value (at Items/0/Quantity); [QTY] must be positive (at Items/0/Quantity)');
  });

  it('SAP Gateway XML, entities decoded', () => {
    const body = `<?xml version="1.0" encoding="utf-8"?><error xmlns="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"><code>SY/530</code><message xml:lang="en">Plant &apos;1000&apos; &amp; storage location do not match</message><innererror><errordetails><errordetail><code>SY/530</code><message>Plant &apos;1000&apos; &amp; storage location do not match</message><propertyref>ShipFrom</propertyref><severity>error</severity></errordetail></errordetails></innererror></error>`;
    expect(odataErrorMessage(400, 'create DeliveryOrders', body)).toBe("SAP answered 400 to create DeliveryOrders: [SY/530] Plant '1000' & storage location do not match; [SY/530] Plant '1000' & storage location do not match (at ShipFrom)");
  });

  it('a body that is no OData error is quoted, shortened, never lost', () => {
    expect(parseODataError('<html><body>502 Bad Gateway</body></html>')).toBeUndefined();
    expect(odataErrorMessage(502, 'create DeliveryOrders', '<html><body>502 Bad Gateway</body></html>')).toBe('SAP answered 502 to create DeliveryOrders: <html><body>502 Bad Gateway</body></html>');
    expect(odataErrorMessage(500, 'create DeliveryOrders', '')).toBe('SAP answered 500 to create DeliveryOrders with an empty body');
    expect(odataErrorMessage(500, 'x', `{"error":{"code":"X"}}`)).toBe('SAP answered 500 to x: {"error":{"code":"X"}}');
    expect(odataErrorMessage(500, 'x', 'y'.repeat(1000))).toHaveLength('SAP answered 500 to x: '.length + 300);
  });

  it('reads the key of a created entity from its URI', () => {
    expect(keyFromEntityUri("https://erp/sap/opu/odata/sap/Z_SRV/DeliveryOrders('80000012')")).toBe('80000012');
    expect(keyFromEntityUri("DeliveryOrders('O''Brien')")).toBe("O'Brien");
    expect(keyFromEntityUri('Orders(4711)')).toBe('4711');
    expect(keyFromEntityUri("Items(Order='1',Line=10)")).toBe("Order='1',Line=10");
    expect(keyFromEntityUri('Orders')).toBeNull();
    expect(keyFromEntityUri(undefined)).toBeNull();
  });

  it("a REST endpoint's refusal: problem+json detail, message or error, else the text", () => {
    expect(restErrorText(JSON.stringify({ type: 'about:blank', title: 'Unprocessable', detail: 'unknown customer 42' }))).toBe('unknown customer 42');
    expect(restErrorText(JSON.stringify({ error: { message: 'quota exceeded' } }))).toBe('quota exceeded');
    expect(restErrorText(JSON.stringify({ error: 'bad token' }))).toBe('bad token');
    expect(restErrorText('Service  Unavailable\n')).toBe('Service Unavailable');
  });
});
