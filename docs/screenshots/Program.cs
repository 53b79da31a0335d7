using Microsoft.Playwright;

// Captures the pages that prove the stack works, with Debian's Chromium driven by Playwright.
// Input comes from the environment (capture.sh sets it): where each page is and where the PNGs go. With the argument
// "console" it captures the dashboard as the lab's console instead: Prometheus' live state while one replica's
// /metrics is slowed (capture.sh slows it first), and that replica's commands.
var output = Required("SCREENSHOTS_DIR");
var dashboardLogin = Required("ASPIRE_LOGIN_URL");

var prometheus = Required("PROMETHEUS_URL").TrimEnd('/');
// Where the targets page is for the image in use: /targets in the official image's UI, the HTTP API in the
// stand-in built from Debian's package, which has no web UI (and so no graph page either).
var targetsPath = Environment.GetEnvironmentVariable("PROMETHEUS_TARGETS_PATH") ?? "/targets";
var prometheusHasUi = !targetsPath.StartsWith("/api/", StringComparison.Ordinal);
var computeApi = Required("COMPUTEAPI_URL").TrimEnd('/');
var grafana = Environment.GetEnvironmentVariable("GRAFANA_URL")?.TrimEnd('/');

using var playwright = await Playwright.CreateAsync();
await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
{
    ExecutablePath = Environment.GetEnvironmentVariable("CHROMIUM_PATH") ?? "/usr/bin/chromium",
    Headless = true,
    // Debian's Chromium as root, on a machine with no way out: no sandbox, no background traffic.
    Args = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-quic"],
});
if (args is ["console"])
{
    await CaptureConsoleAsync(browser, Required("COMPUTEAPI_REPLICA"));
    return;
}

var context = await browser.NewContextAsync(new BrowserNewContextOptions
{
    ViewportSize = new ViewportSize { Width = 1600, Height = 900 },
    ColorScheme = ColorScheme.Light,
});
var page = await context.NewPageAsync();

// The login link carries the dashboard's token; it lands on the resources page. (Its banner about the missing
// HTTPS development certificate is real: the local stack runs over plain HTTP.)
await Capture("aspire-resources.png", dashboardLogin, page => page.GetByText("prometheus", new() { Exact = true }).First.WaitForAsync());

if (prometheusHasUi)
{
    await Capture("prometheus-targets.png", prometheus + targetsPath, page => page.GetByText("computeapi").First.WaitForAsync(), fullPage: true);

    const string Expression = "sum by (instance, compute_kernel) (rate(compute_jobs_total{compute_outcome=\"success\"}[1m]))";
    await Capture("prometheus-graph.png", $"{prometheus}/query?g0.expr={Uri.EscapeDataString(Expression)}&g0.tab=graph&g0.range_input=5m",
        page => page.Locator("canvas, svg").First.WaitForAsync());
}
else
{
    // No Prometheus UI: the same instruments charted by the Aspire dashboard, which receives them over OTLP.
    var dashboard = new Uri(dashboardLogin).GetLeftPart(UriPartial.Authority);
    await Capture("aspire-metrics.png",
        $"{dashboard}/metrics/resource/{Required("COMPUTEAPI_REPLICA")}?meter=CloudApp.Compute&instrument=compute.job.duration&duration=5&view=Graph",
        page => page.Locator(".plotly, canvas, svg.main-svg").First.WaitForAsync());
}

await Capture("computeapi-metrics.png", $"{computeApi}/metrics", page => page.GetByText("compute_jobs_total").First.WaitForAsync());

if (!string.IsNullOrEmpty(grafana))
{
    await Capture("grafana-computeapi.png", $"{grafana}/d/cloudapp-computeapi?orgId=1&from=now-15m&to=now&kiosk",
        page => page.Locator(".react-grid-layout").First.WaitForAsync(), fullPage: true);
}
else
{
    Console.WriteLine("GRAFANA_URL not set: no Grafana in this run, no Grafana screenshot.");
}

// The resources page with Prometheus' details open (its state Degraded, targets up, alerts firing) and a replica's
// Commands menu unfolded.
async Task CaptureConsoleAsync(IBrowser browser, string replica)
{
    // Wider than the other pages: the details pane beside the table, the menu over neither's values.
    var context = await browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1800, Height = 900 }, ColorScheme = ColorScheme.Light });
    var page = await context.NewPageAsync();
    await page.GotoAsync(dashboardLogin, new PageGotoOptions { WaitUntil = WaitUntilState.NetworkIdle, Timeout = 60_000 });
    var prometheusRow = page.GetByText("prometheus", new() { Exact = true }).First;
    await prometheusRow.WaitForAsync();
    await prometheusRow.ClickAsync();
    await page.GetByText("Running (Degraded)").First.WaitForAsync(new() { Timeout = 90_000 });
    await page.GetByText("Targets up").First.WaitForAsync();
    await page.GetByRole(AriaRole.Row).Filter(new() { HasText = replica }).GetByRole(AriaRole.Button, new() { Name = "Actions" }).ClickAsync();
    // The menus of every row are in the page; the open one is the visible one.
    await page.Locator("fluent-menu-item:visible", new() { HasText = "Commands" }).First.HoverAsync();
    await page.Locator("fluent-menu-item:visible", new() { HasText = "Slow /metrics" }).First.WaitForAsync();
    await page.WaitForTimeoutAsync(1_000);
    await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(output, "aspire-console.png") });
    Console.WriteLine("captured aspire-console.png");
}

async Task Capture(string file, string url, Func<IPage, Task> ready, bool fullPage = false)
{
    await page.GotoAsync(url, new PageGotoOptions { WaitUntil = WaitUntilState.NetworkIdle, Timeout = 60_000 });
    await ready(page);
    // Charts and grids finish drawing after the data arrives.
    await page.WaitForTimeoutAsync(3_000);
    var path = Path.Combine(output, file);
    await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = fullPage });
    Console.WriteLine($"captured {file} from {url.Split('?')[0]}");
}

static string Required(string name) =>
    Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value : throw new InvalidOperationException($"{name} is not set.");
