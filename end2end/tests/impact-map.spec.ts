import { DEMO_CIS, expect, test } from '@forestall/e2e-kit';

// The Impact map beside Affected Install Base Items: an SVG drawn on the server, named `Impact map` and described
// by a summary that names the alert's CI, where maintenance stopped the spread and the accounts it reaches.
test.use({ user: 'operator' });

test('the alert form draws the impact map of its snapshot with a text alternative naming what it shows', async ({
  forestall,
  ingest,
}) => {
  const { alertForm, page } = forestall;
  const alert = await ingest.alert({ node: DEMO_CIS.dbHost, severity: 'Critical' });
  await alertForm.goto(alert.number);
  const region = page.getByRole('region', { name: 'Impact map' });
  await expect(region).toContainText('Nothing to draw yet');

  await alertForm.refreshInstallBase();
  // The map is drawn with the page: after a refresh it is there on the next load.
  await alertForm.goto(alert.number);
  const map = region.getByRole('img', { name: 'Impact map' });
  await expect(map).toBeVisible();
  await expect(map).toHaveAccessibleDescription(/^From db-host-01, the impact reaches/);
  await expect(map).toHaveAccessibleDescription(/Acme Corporation/);
  await expect(map).toHaveAccessibleDescription(/It stopped at 1 CI in maintenance: reporting-app\./);
  await page.screenshot({ path: 'test-results/screenshots/impact-map.png', fullPage: true });
});
