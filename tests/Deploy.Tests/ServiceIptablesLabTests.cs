using System.Globalization;
using System.Text.RegularExpressions;

namespace CloudApp.Deploy.Tests;

/// <summary>
/// The Service-to-iptables lab (docs/lab/service-iptables.sh): kube-proxy's chains written into a network namespace
/// that plays the node, the ComputeApi built with these tests running in two "pod" namespaces, and a client sending
/// requests to the ClusterIP. Needs root (network namespaces and netfilter), as CI has.
/// </summary>
public sealed partial class ServiceIptablesLabTests
{
    private const int Requests = 200;
    private const string NamespacePrefix = "cloudapp-lab-";

    // Two pods start, three phases of requests run; a minute is typical, the rest is room for a busy machine.
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(5);

    [Fact]
    public async Task RequestsToTheClusterIpSpreadOverBothPodsAndFailOverWhenOneEndpointGoes()
    {
        Assert.True(File.Exists(Repository.ComputeApiAssembly), $"ComputeApi is not built at {Repository.ComputeApiAssembly}");

        ExternalProgram.Result result;
        try
        {
            result = await ExternalProgram.RunAsync("bash",
                [Repository.Path("docs", "lab", "service-iptables.sh"), "--computeapi", Repository.ComputeApiAssembly, "--requests", $"{Requests}"],
                Timeout);
        }
        catch (TimeoutException)
        {
            // A killed run cannot clean up after itself; leave the machine as it was for the next run.
            await ExternalProgram.RunAsync("bash", [Repository.Path("docs", "lab", "service-iptables.sh"), "--cleanup"], TimeSpan.FromMinutes(1));
            throw;
        }

        var line = ResultLine().Match(result.Output);
        Assert.True(line.Success, $"no RESULT line in the lab's output:\n{result}");
        int Count(string group) => int.Parse(line.Groups[group].Value, CultureInfo.InvariantCulture);

        // Spread: kube-proxy's 0.5 probability rule; each pod gets a fair share (the script itself holds 30-70 %).
        Assert.True(Count("spreadA") >= Requests / 4, $"pod-a served {Count("spreadA")} of {Requests}:\n{result}");
        Assert.True(Count("spreadB") >= Requests / 4, $"pod-b served {Count("spreadB")} of {Requests}:\n{result}");
        // Failover: pod-b's endpoint chain and jump removed; pod-b still runs, and gets nothing.
        Assert.Equal(0, Count("failoverB"));
        Assert.Equal(Requests, Count("failoverA"));
        Assert.True(result.ExitCode == 0, result.ToString());

        var namespaces = await ExternalProgram.RunAsync("ip", ["netns", "list"], TimeSpan.FromSeconds(30));
        Assert.True(namespaces.ExitCode == 0, namespaces.ToString());
        Assert.DoesNotContain(NamespacePrefix, namespaces.Output, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"^RESULT spread a=(?<spreadA>\d+) b=(?<spreadB>\d+) failover a=(?<failoverA>\d+) b=(?<failoverB>\d+)", RegexOptions.Multiline)]
    private static partial Regex ResultLine();
}
