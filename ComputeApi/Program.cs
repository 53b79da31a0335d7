using CloudApp.ComputeApi;
using CloudApp.ComputeApi.Apis;

NativeBuilds.UseTheWidestVectors(args);

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddComputeServices();
builder.Services.AddProblemDetails();
builder.Services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, ContractsJsonContext.Default));
builder.Services.AddOpenApi();

var app = builder.Build();

app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseRequestTimeouts();

app.MapDefaultEndpoints();
app.MapOpenApi();
app.MapKernelsApi();

app.Run();

public partial class Program;
