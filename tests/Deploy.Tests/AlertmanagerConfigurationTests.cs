using YamlDotNet.RepresentationModel;

namespace CloudApp.Deploy.Tests;

/// <summary>deploy/alertmanager, checked and its routes tried by the amtool of the Alertmanager image the stack runs.</summary>
public sealed class AlertmanagerConfigurationTests
{
    [Theory]
    [InlineData("alertmanager.yml")]
    [InlineData("examples/webhook.yml")]
    public async Task ConfigurationPassesAmtool(string file)
    {
        var result = await ImageTool.Amtool("check-config", file);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("SUCCESS", result.Output);
    }

    [Theory]
    [InlineData("critical", "on-call")]
    [InlineData("warning", "team")]
    [InlineData("info", "team")]
    public async Task RoutesAlertsBySeverity(string severity, string receiver)
    {
        var result = await ImageTool.Amtool("config", "routes", "test", "--config.file=alertmanager.yml",
            $"severity={severity}", "alertname=ComputeApiTargetDown", "job=computeapi");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(receiver, result.Output.Trim());
    }

    [Fact]
    public void TheWebhookExampleIsTheConfigurationWithAWebhookForOnCall()
    {
        var configuration = Load("alertmanager.yml");
        var example = Load("examples/webhook.yml");

        var receivers = (YamlSequenceNode)example.Children[new YamlScalarNode("receivers")];
        var onCall = receivers.Children.OfType<YamlMappingNode>().Single(r => r.Children[new YamlScalarNode("name")].ToString() == "on-call");
        var webhook = (YamlSequenceNode)onCall.Children[new YamlScalarNode("webhook_configs")];
        Assert.StartsWith("http", ((YamlMappingNode)webhook.Children.Single()).Children[new YamlScalarNode("url")].ToString(), StringComparison.Ordinal);

        // Everything else is the same, so the example never drifts from what runs.
        onCall.Children.Remove(new YamlScalarNode("webhook_configs"));
        Assert.Equal(Canonical(configuration), Canonical(example));
    }

    private static YamlMappingNode Load(string file)
    {
        var stream = new YamlStream();
        using var reader = new StringReader(File.ReadAllText(Repository.Path("deploy", "alertmanager", file)));
        stream.Load(reader);
        return (YamlMappingNode)stream.Documents[0].RootNode;
    }

    private static string Canonical(YamlNode node) => node switch
    {
        YamlMappingNode map => "{" + string.Join(",", map.Children.Select(c => $"{c.Key}:{Canonical(c.Value)}").Order(StringComparer.Ordinal)) + "}",
        YamlSequenceNode list => "[" + string.Join(",", list.Children.Select(Canonical)) + "]",
        _ => node.ToString(),
    };
}
