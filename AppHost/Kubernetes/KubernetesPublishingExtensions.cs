using Aspire.Hosting.Pipelines;
using CloudApp.AppHost.Kubernetes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Aspire.Hosting;

#pragma warning disable ASPIREPIPELINES001, ASPIREPIPELINES004 // The publishing pipeline is experimental in Aspire 13.6.

public static class KubernetesPublishingExtensions
{
    public const string StepName = "kubernetes";

    /// <summary>
    /// Adds the publish step that writes the app model as a kustomize base to <paramref name="defaultOutput"/>:
    /// <c>dotnet aspire do kubernetes</c>, or <c>dotnet run --project AppHost -- --operation publish --step kubernetes</c> (<c>--output-path</c>, relative
    /// to the AppHost folder, writes elsewhere).
    /// </summary>
    public static IDistributedApplicationBuilder AddKubernetesPublishing(
        this IDistributedApplicationBuilder builder, ManifestSettings settings, string defaultOutput)
    {
        builder.Pipeline.AddStep(StepName, async context =>
        {
            var output = context.Services.GetRequiredService<IOptions<PipelineOptions>>().Value.OutputPath is null
                ? defaultOutput
                : context.Services.GetRequiredService<IPipelineOutputService>().GetOutputDirectory();
            var manifests = await new ManifestGenerator(settings, context.ExecutionContext).GenerateAsync(context.Model, context.CancellationToken);
            ManifestWriter.Write(manifests, output);
            OperatorComponent.Write(context.Model, manifests, settings, output, ManifestWriter.Header);
            context.Logger.LogInformation("Wrote the kustomize base ({Count} files) to {Output}/{Base}, the node agents to {NodeAgents}/",
                manifests.Application.Files.Count, output, Manifests.ApplicationDirectory, Manifests.NodeAgentsDirectory);
        }, requiredBy: WellKnownPipelineSteps.Publish);
        return builder;
    }
}
