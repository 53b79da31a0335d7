using Microsoft.Extensions.Hosting;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CloudApp.ComputeApi.Apis;

namespace CloudApp.ComputeApi.Tests;

/// <summary>The lab's switchable fault: a slow metrics endpoint, on only where the AppHost enables faults.</summary>
public sealed class FaultsApiTests
{
    private static readonly (string, string) Enabled = (FaultsApi.EnabledSetting, "true");

    [Fact]
    public async Task FaultsDoNotExistUnlessEnabled()
    {
        await using var app = ComputeApiFactory.Create();
        using var client = app.CreateClient();

        using var response = await client.PutAsync($"{FaultsApi.MetricsDelayPath}?seconds=5", content: null);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task ADelayedMetricsEndpointOutlastsAScraperUntilTheFaultIsCleared()
    {
        await using var app = ComputeApiFactory.Create(Enabled);
        using var client = app.CreateClient();
        // A scraper that waits a few seconds (room for a slow first answer), as Prometheus waits its scrape timeout.
        using var scraper = app.CreateClient();
        scraper.Timeout = TimeSpan.FromSeconds(3);
        Assert.Equal(HttpStatusCode.OK, (await scraper.GetAsync(ServiceDefaultsExtensions.MetricsPath)).StatusCode);

        using (var set = await client.PutAsync($"{FaultsApi.MetricsDelayPath}?seconds=10", content: null))
        {
            Assert.Equal(HttpStatusCode.NoContent, set.StatusCode);
        }
        await Assert.ThrowsAsync<TaskCanceledException>(() => scraper.GetAsync(ServiceDefaultsExtensions.MetricsPath));
        // Only the metrics endpoint is slow: the service itself answers.
        Assert.Equal(HttpStatusCode.OK, (await scraper.GetAsync(ServiceDefaultsExtensions.HealthPath)).StatusCode);

        using (var clear = await client.DeleteAsync(FaultsApi.MetricsDelayPath))
        {
            Assert.Equal(HttpStatusCode.NoContent, clear.StatusCode);
        }
        Assert.Equal(HttpStatusCode.OK, (await scraper.GetAsync(ServiceDefaultsExtensions.MetricsPath)).StatusCode);
    }

    [Theory]
    [InlineData("")]
    [InlineData("0")]
    [InlineData("61")]
    [InlineData("2.5")]
    [InlineData("-3")]
    public async Task ADelayOutsideTheLimitsIsRefusedWithTheFieldAndTheLimits(string seconds)
    {
        await using var app = ComputeApiFactory.Create(Enabled);
        using var client = app.CreateClient();

        using var response = await client.PutAsync($"{FaultsApi.MetricsDelayPath}?seconds={seconds}", content: null);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(FaultsApi.SecondsParameter, out _));
        Assert.Equal(FaultsApi.MaxDelaySeconds, problem.GetProperty("maximum").GetInt32());
        // Nothing changed: metrics still answer at once.
        using var scraper = app.CreateClient();
        scraper.Timeout = TimeSpan.FromSeconds(3);
        Assert.Equal(HttpStatusCode.OK, (await scraper.GetAsync(ServiceDefaultsExtensions.MetricsPath)).StatusCode);
    }
}
